"""Autodoc and cross-reference events: hook options, re-exported data docs, and
references to implementation modules resolved to the documented public names."""

from __future__ import annotations

import inspect
import sys
from typing import Any, Dict, List, Optional

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

from ._util import import_object

log = logging.getLogger(__name__)


# -- hooks ---------------------------------------------------------------------------------


def hook_options(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: List[str]) -> None:
    spec_opts = getattr(obj, "storekit_spec", None)
    if what != "function" or not isinstance(spec_opts, dict):
        return
    first = "yes" if spec_opts.get("firstresult") else "no"
    historic = "yes" if spec_opts.get("historic") else "no"
    lines += ["", f":First result: {first}", f":Historic: {historic}", ""]


def reexported_data_doc(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: List[str]) -> None:
    """Module data re-exported by a package (``storekit.sql.SCHEMA_VERSION``) keeps the
    doc-comment written where it is defined, not the docstring of its value's type."""
    if what != "data":
        return
    package, _, attr = name.rpartition(".")
    for module_name in sorted(sys.modules):
        if not module_name.startswith(package + "."):
            continue
        try:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except Exception:
            continue
        found = docs.get(("", attr))
        if found and getattr(sys.modules[module_name], attr, None) is obj:
            lines[:] = [*found, ""]
            return


def check_hookspecs(app: Sphinx) -> None:
    from storekit import hookspecs

    for name, obj in vars(hookspecs).items():
        if name.startswith("storekit_") and callable(obj) and not inspect.getdoc(obj):
            log.warning("hook %s in storekit/hookspecs.py has no docstring", name)


# -- references to implementation modules ------------------------------------------------------

_IDENTITY_TYPES = (type, property, classmethod, staticmethod)


def _documented_by_identity(app: Sphinx) -> Dict[int, str]:
    env = app.env
    cached: Optional[Dict[int, str]] = getattr(app, "_storekit_identity", None)
    if cached is not None:
        return cached
    table: Dict[int, str] = {}
    for name, entry in env.get_domain("py").objects.items():
        if getattr(entry, "aliased", False):
            continue
        try:
            obj = import_object(name)
        except Exception:
            continue
        if isinstance(obj, _IDENTITY_TYPES) or inspect.isroutine(obj) or inspect.ismodule(obj):
            table.setdefault(id(obj), name)
    app._storekit_identity = table  # type: ignore[attr-defined]
    return table


def resolve_alias(app: Sphinx, env: Any, node: Any, contnode: nodes.Node) -> Optional[nodes.Node]:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("storekit"):
        return None
    try:
        obj = import_object(target)
    except Exception:
        return None
    if not (isinstance(obj, _IDENTITY_TYPES) or inspect.isroutine(obj)):
        return None
    documented = _documented_by_identity(app).get(id(obj))
    if documented is None or documented == target:
        return None
    entry = env.get_domain("py").objects[documented]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, documented)


def forget_identity(app: Sphinx, env: Any) -> None:
    if hasattr(app, "_storekit_identity"):
        del app._storekit_identity
