"""policysite: a static-site generator for public policy documents.

The pipeline, one module per stage:
    load.py    read policy sources and validate their frontmatter
    model.py   policies, versions and their states; the plan of pages and variants
    render.py  Markdown (markup.py), script conversion (script.py), Jinja templates
    write.py   put the pages on disk atomically
pipeline.py runs them in order; cli.py is the command line behind build.py.
"""
__version__ = "0.1.0"
