#!/usr/bin/env python3
"""Build a static site of public policy documents.

    python build.py                 build the site into public/
    python build.py new <slug>      start a new policy from a template
    python build.py check --conversions
                                    list every character whose Traditional form
                                    needs a person's review
    python build.py serve           preview with live reload

Exit status: 0 success, 1 content errors, 2 usage errors.
"""
import sys

from policysite.cli import main, exit_now

if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
