#!/usr/bin/env python3
"""Build a static site of public policy documents.

    python build.py                 build the site into public/
    python build.py init DIR        start a new site of your own
    python build.py import FILE...  bring saved web pages, Word files or text in as policies
    python build.py new <slug>      start a new policy from a template
    python build.py check --conversions
                                    list every character whose Traditional form
                                    needs a person's review
    python build.py serve           preview with live reload

Exit status: 0 success, 1 content errors, 2 usage errors.
"""
import sys

SETUP = """\
error: build.py needs {what}, which {verb} not installed for this Python ({python}).
    fix: set up once, in this folder (README, Quick start):
        python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    then run  .venv/bin/python build.py  (on Windows:  .venv\\Scripts\\python build.py )"""


def missing(e: ModuleNotFoundError) -> int:
    """A library of requirements.txt is missing: say how to set up, not a traceback."""
    name = (e.name or "").split(".")[0]
    if not name or name == "policysite":
        raise e
    if name == "tomllib":
        print(f"error: build.py needs Python 3.11 or newer; this is {sys.version.split()[0]} ({sys.executable})\n"
              "    fix: install Python 3.11 or newer, then set up as the README's Quick start says", file=sys.stderr)
        return 2
    print(SETUP.format(what=f"the library '{name}'", verb="is", python=sys.executable), file=sys.stderr)
    return 2


if __name__ == "__main__":
    # issue 19: a plain build goes to this site's resident builder when one runs (before anything
    # else is imported: policysite/handoff.py)
    from policysite.handoff import hand_over
    handed = hand_over(sys.argv[1:])
    if handed is not None:
        sys.stdout.flush()
        sys.exit(handed)
    try:
        from policysite.cli import exit_now, main
        status = main(sys.argv[1:])
    except ModuleNotFoundError as e:
        sys.exit(missing(e))
    exit_now(status)
