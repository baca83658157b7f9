"""Sphinx configuration for the storekit documentation."""

from __future__ import annotations

import sys
from pathlib import Path

from storekit import __version__

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "storekit"
author = "storekit developers"
copyright = "storekit developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "storekit_docs",
]

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"storekit {release}"

# Autodoc: source order, and no docstrings inherited from SQLAlchemy or attrs base
# classes (their markup is not ours). Defaults are shown as values: attrs-generated
# __init__ methods have no readable default expressions to preserve.
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False
autodoc_typehints_format = "short"
python_use_unqualified_type_names = True

# `sphinx-build -b doctest docs docs/_build/doctest` runs every example.
doctest_test_doctest_blocks = ""
