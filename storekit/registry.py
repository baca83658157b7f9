"""Plugin loading and the backend registry.

Plugins are found through the ``storekit`` entry-point group and loaded one at a
time: a plugin that fails to import, whose hooks fail, whose name an earlier plugin
took, or that registers a backend name twice is reported and skipped; the others
still load. In strict mode (``strict=True`` or ``STOREKIT_STRICT_PLUGINS=1``, as tests
and CI use) the first failure raises :class:`~storekit.errors.PluginLoadError`. Failure
messages are redacted (:func:`storekit.config.redact_text`): no password reaches the
status, the error or the log.

The registry is made lazily, once per process (:func:`get_registry`), or explicitly
per store; nothing is loaded at import time.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import attrs
import pluggy

from . import hookspecs
from .backend import BackendInfo
from .config import redact_text as _redact
from .errors import NoBackendError, PluginLoadError

if sys.version_info >= (3, 10):
    from importlib.metadata import EntryPoint, entry_points
else:  # pragma: no cover - Python 3.9
    from importlib_metadata import EntryPoint, entry_points

__all__ = ["ENTRY_POINT_GROUP", "PluginStatus", "Registry", "get_registry", "reset_registry"]

log = logging.getLogger("storekit.registry")

ENTRY_POINT_GROUP = "storekit"


@attrs.frozen
class PluginStatus:
    """What happened to one plugin: where it came from, what it registered, or why it failed."""

    name: str
    source: str
    loaded: bool
    backends: Tuple[str, ...] = ()
    error: Optional[str] = None


class Registry:
    """A pluggy plugin manager plus the backends its plugins registered."""

    def __init__(self, *, strict: Optional[bool] = None) -> None:
        if strict is None:
            strict = os.environ.get("STOREKIT_STRICT_PLUGINS", "") not in ("", "0")
        self.strict = strict
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._backends: Dict[str, BackendInfo] = {}
        self._status: List[PluginStatus] = []
        self._claims: Dict[str, str] = {}
        """plugin name -> the source of the first plugin given it (loaded or failed)"""

    # -- loading ------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every plugin of the entry-point group, each in isolation."""
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            self._load_entry_point(ep)

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        source = f"{dist.name} {dist.version}" if dist is not None else ep.value
        try:
            plugin = ep.load()
        except Exception as exc:
            self._fail(ep.name, source, exc)
            return
        self.register_plugin(plugin, name=ep.name, source=source)

    def register_plugin(self, plugin: Any, *, name: str, source: str = "") -> None:
        """Register one plugin object (a module or an instance with hook methods).

        Validation errors (an unknown hook, a wrong signature), failures inside its
        hooks, a ``name`` another plugin already took, and a backend name registered
        twice are reported like import failures. Registering the plugin that is already
        registered under ``name`` again does nothing.

        .. versionchanged:: 0.1
           A name already taken, and a backend name registered twice by one plugin, are
           load failures (they were ignored, and the second backend replaced the first).
        """
        source = source or repr(plugin)
        if self._pm.get_plugin(name) is plugin:
            return  # the same plugin again (reset_registry, a test's own registry): idempotent
        if self._claim(name, source):
            return
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except Exception as exc:
            if self._pm.get_plugin(name) is not None:
                self._pm.unregister(name=name)
            self._fail(name, source, exc)
            return
        found: List[BackendInfo] = []
        others = [p for p in self._pm.get_plugins() if p is not plugin]
        only_this = self._pm.subset_hook_caller("storekit_register_backends", remove_plugins=others)
        try:
            only_this(register=found.append)
            names: Set[str] = set()
            for info in found:
                if not isinstance(info, BackendInfo):
                    raise TypeError(f"register() takes a BackendInfo, not {type(info).__name__}")
                if info.name in names:
                    raise ValueError(f"backend name {info.name!r} is registered twice by this plugin")
                if info.name in self._backends:
                    first = self._backends[info.name].plugin
                    raise ValueError(f"backend name {info.name!r} is already registered by plugin {first!r}")
                names.add(info.name)
        except Exception as exc:
            self._pm.unregister(name=name)
            self._fail(name, source, exc)
            return
        for info in found:
            self._backends[info.name] = attrs.evolve(info, plugin=name)
        self._status.append(PluginStatus(name, _redact(source), True, tuple(i.name for i in found)))

    def _claim(self, name: str, source: str) -> bool:
        """Claim the plugin ``name`` for ``source``; if an earlier plugin (loaded or failed)
        holds it, report this one as failed and return True."""
        if name not in self._claims:
            self._claims[name] = source
            return False
        first = self._claims[name]
        earlier = next((s for s in self._status if s.name == name), None)
        how = ", which failed to load" if earlier is not None and not earlier.loaded else ""
        self._fail(name, source, ValueError(f"plugin name {name!r} is already taken by {first}{how}"))
        return True

    def _fail(self, name: str, source: str, exc: BaseException) -> None:
        self._claims.setdefault(name, source)
        raw = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        # a plugin's error may quote a URL or DSN with its password
        message = _redact(raw)
        self._status.append(PluginStatus(name, _redact(source), False, error=message))
        if self.strict:
            if message != raw:  # the chained exception would print the secret again
                raise PluginLoadError(name, message) from None
            raise PluginLoadError(name, message) from exc
        log.warning("storekit plugin %r failed to load and was skipped: %s", name, message)

    # -- queries ------------------------------------------------------------------

    @property
    def plugins(self) -> Tuple[PluginStatus, ...]:
        """Every plugin seen, loaded or failed, in load order."""
        return tuple(self._status)

    @property
    def failures(self) -> Tuple[PluginStatus, ...]:
        """The plugins that failed to load, with their errors."""
        return tuple(s for s in self._status if not s.loaded)

    def backends(self) -> Tuple[BackendInfo, ...]:
        """Registered backends, highest priority first (then by name)."""
        return tuple(sorted(self._backends.values(), key=lambda b: (-b.priority, b.name)))

    def has_hook_implementations(self, hook: str) -> bool:
        """Whether a loaded plugin implements ``hook``."""
        return bool(getattr(self._pm.hook, hook).get_hookimpls())

    def audit(self, events: Sequence[Any], store: Any) -> List[Tuple[str, Exception]]:
        """Call every :func:`~storekit.hookspecs.storekit_audit` implementation, each on its
        own (one that raises does not keep the others from their events); return the
        ``(plugin name, exception)`` of those that raised."""
        failed: List[Tuple[str, Exception]] = []
        for impl in self._pm.hook.storekit_audit.get_hookimpls():
            others = [p for p in self._pm.get_plugins() if p is not impl.plugin]
            try:
                self._pm.subset_hook_caller("storekit_audit", remove_plugins=others)(events=events, store=store)
            except Exception as exc:
                failed.append((impl.plugin_name, exc))
        return failed

    def backend(self, name: str) -> BackendInfo:
        """The backend registered under ``name``; :class:`~storekit.NoBackendError` if none."""
        try:
            return self._backends[name]
        except KeyError:
            known = ", ".join(sorted(self._backends)) or "none"
            raise NoBackendError(f"no backend named {name!r} (registered: {known})") from None

    def backend_for_scheme(self, scheme: str) -> BackendInfo:
        """The highest-priority backend that handles URL ``scheme`` (``postgresql+psycopg2``
        matches a backend registered for ``postgresql``)."""
        base = scheme.split("+", 1)[0]
        for info in self.backends():
            if scheme in info.schemes or base in info.schemes:
                return info
        known = sorted({s for b in self._backends.values() for s in b.schemes})
        raise NoBackendError(
            f"no backend handles URL scheme {scheme!r} (known schemes: {', '.join(known) or 'none'}; "
            f"is the plugin installed? `storekit plugins` lists what loaded)"
        )


_lock = threading.Lock()
_registry: Optional[Registry] = None


def get_registry() -> Registry:
    """The process-wide registry, loading the entry points on first use."""
    global _registry
    with _lock:
        if _registry is None:
            registry = Registry()
            registry.load_entry_points()
            _registry = registry
        return _registry


def reset_registry(plugins: Iterable[Tuple[str, Any]] = ()) -> Registry:
    """Replace the process-wide registry (for tests): entry points plus ``plugins``."""
    global _registry
    with _lock:
        registry = Registry()
        registry.load_entry_points()
        for name, plugin in plugins:
            registry.register_plugin(plugin, name=name)
        _registry = registry
        return registry
