"""Local Sphinx extension: references generated from storekit's own declarations.

Directives
----------
``.. storekit-records::``
    Every record type of :func:`storekit.records.all_record_types`, grouped by its
    first legacy file: table, natural key, legacy sources, indexes, unique
    constraints, references and a field table, all read from the record specs.
``.. storekit-column-types:: module:FactsClass ...``
    The declared column type of every record kind on each given SQL backend,
    compiled by SQLAlchemy against that backend's dialect.
``.. storekit-docstring:: dotted.name``
    The docstring of any object, parsed as reStructuredText, without creating an
    index entry (for private modules whose docstring is the explanation).
``.. storekit-cli:: module:command``
    The ``--help`` text of a click command and of every subcommand, produced by
    click's ``CliRunner`` at build time.
``.. storekit-exception-tree:: dotted.BaseError``
    The exception hierarchy below a base class.
``.. storekit-migration-mapping::``
    The mapping of every legacy table (legacy column, record field, conversion)
    that ``storekit migrate`` applies, from :mod:`storekit.migrate`.

Events
------
* ``autodoc-process-docstring`` appends the pluggy options (first-result,
  historic) to every hook specification, and gives module data re-exported by a
  package the doc-comment of its defining module.
* ``builder-inited`` fails the build (a warning, and ``-W`` makes it an error) if a
  hook in :mod:`storekit.hookspecs` has no docstring.
* ``missing-reference`` resolves references written against an implementation
  module (``storekit.errors.IntegrityError``) to the object's documented public
  name (``storekit.IntegrityError``), by object identity.
"""

from __future__ import annotations

from typing import Any, Dict

from sphinx.application import Sphinx

from .events import (
    check_hookspecs,
    forget_identity,
    hook_options,
    reexported_data_doc,
    resolve_alias,
)
from .generated import CliDirective, DocstringDirective, ExceptionTreeDirective
from .migration import MigrationMappingDirective
from .records import ColumnTypesDirective, RecordsDirective


def setup(app: Sphinx) -> Dict[str, Any]:
    app.add_directive("storekit-records", RecordsDirective)
    app.add_directive("storekit-column-types", ColumnTypesDirective)
    app.add_directive("storekit-docstring", DocstringDirective)
    app.add_directive("storekit-cli", CliDirective)
    app.add_directive("storekit-exception-tree", ExceptionTreeDirective)
    app.add_directive("storekit-migration-mapping", MigrationMappingDirective)
    app.connect("autodoc-process-docstring", hook_options)
    app.connect("autodoc-process-docstring", reexported_data_doc)
    app.connect("builder-inited", check_hookspecs)
    app.connect("missing-reference", resolve_alias)
    app.connect("env-updated", forget_identity)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
