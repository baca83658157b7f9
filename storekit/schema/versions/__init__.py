"""Alembic revision scripts, one per storekit schema version (revision ``"0002"`` is
version 2). Run by :func:`storekit.schema.upgrade`, never imported by storekit itself."""
