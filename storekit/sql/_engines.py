"""One engine (and so one connection pool) per database per process.

Stores opened on the same URL with the same options share an engine; the engine
is disposed when the last of them closes. A forked child never reuses its
parent's engine (pools must not cross ``fork``).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, Mapping, Tuple

import sqlalchemy as sa

__all__ = ["acquire_engine", "release_engine"]

_Key = Tuple[int, str, Tuple[Tuple[str, str], ...]]

_lock = threading.Lock()
_engines: Dict[_Key, Tuple[sa.engine.Engine, int]] = {}


def _key(url: sa.engine.URL, options: Mapping[str, Any]) -> _Key:
    rendered = url.render_as_string(hide_password=False)
    return (os.getpid(), rendered, tuple(sorted((k, repr(v)) for k, v in options.items())))


def acquire_engine(
    url: sa.engine.URL,
    options: Mapping[str, Any],
    create: Callable[[], sa.engine.Engine],
) -> sa.engine.Engine:
    """The shared engine for ``url`` and ``options``, made by ``create`` on first use."""
    key = _key(url, options)
    with _lock:
        engine, users = _engines.get(key, (None, 0))
        if engine is None:
            engine = create()
        _engines[key] = (engine, users + 1)
        return engine


def release_engine(engine: sa.engine.Engine) -> None:
    """Drop one user of ``engine``; dispose it when it has none left."""
    with _lock:
        for key, (shared, users) in list(_engines.items()):
            if shared is engine:
                if users > 1:
                    _engines[key] = (shared, users - 1)
                    return
                del _engines[key]
                break
    engine.dispose()
