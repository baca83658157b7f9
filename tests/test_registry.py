"""The plugin registry and the storekit_register_backends hook."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

import storekit
from storekit import BackendInfo, NoBackendError, PluginLoadError, Registry, hookimpl
from storekit.cli import main


def _factory(url: str, options: Any) -> Any:
    raise AssertionError("not opened in these tests")


class _Plugin:
    def __init__(self, *infos: BackendInfo) -> None:
        self.infos = infos

    @hookimpl
    def storekit_register_backends(self, register: Callable[[BackendInfo], None]) -> None:
        for info in self.infos:
            register(info)


def _info(name: str, priority: int, schemes: tuple[str, ...] = ("memory",)) -> BackendInfo:
    return BackendInfo(name=name, schemes=schemes, factory=_factory, priority=priority)


def _install_fake_distribution(root: Path, name: str, entry_points: str, module: str = "") -> None:
    dist = root / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (root / f"{name}.py").write_text(textwrap.dedent(module))


def test_storekit_register_backends_registers_with_name_schemes_priority_and_plugin() -> None:
    registry = Registry(strict=True)
    registry.register_plugin(_Plugin(_info("memory", 5)), name="memplugin")
    info = registry.backend("memory")
    assert (info.name, info.schemes, info.priority, info.plugin) == ("memory", ("memory",), 5, "memplugin")
    assert registry.plugins[0].loaded and registry.plugins[0].backends == ("memory",)


def test_priority_not_registration_order_decides_the_backend_for_a_scheme() -> None:
    for order in ((1, 2), (2, 1)):
        registry = Registry(strict=True)
        plugins = {1: _Plugin(_info("low", 1)), 2: _Plugin(_info("high", 50))}
        for n in order:
            registry.register_plugin(plugins[n], name=f"p{n}")
        assert registry.backend_for_scheme("memory").name == "high"
        assert [b.name for b in registry.backends()] == ["high", "low"]


def test_driver_suffix_in_the_scheme_matches_the_base_scheme() -> None:
    registry = Registry(strict=True)
    registry.register_plugin(_Plugin(_info("memory", 1)), name="m")
    assert registry.backend_for_scheme("memory+fast").name == "memory"


def test_unknown_scheme_names_the_known_schemes() -> None:
    registry = Registry(strict=True)
    registry.register_plugin(_Plugin(_info("memory", 1)), name="m")
    with pytest.raises(NoBackendError, match="known schemes: memory"):
        registry.backend_for_scheme("oracle")


def test_a_hook_that_raises_is_reported_and_the_other_plugins_still_load() -> None:
    class Broken:
        @hookimpl
        def storekit_register_backends(self, register: Any) -> None:
            raise RuntimeError("boom")

    registry = Registry(strict=False)
    registry.register_plugin(Broken(), name="broken")
    registry.register_plugin(_Plugin(_info("memory", 1)), name="good")
    assert [p.name for p in registry.failures] == ["broken"]
    assert "RuntimeError: boom" in (registry.failures[0].error or "")
    assert registry.backend("memory").plugin == "good"


def test_strict_mode_raises_plugin_load_error() -> None:
    class Broken:
        @hookimpl
        def storekit_register_backends(self, register: Any) -> None:
            register("not a BackendInfo")

    with pytest.raises(PluginLoadError, match="broken"):
        Registry(strict=True).register_plugin(Broken(), name="broken")


def test_an_implementation_of_an_unknown_hook_is_an_error_not_a_silence() -> None:
    class Typo:
        @hookimpl
        def storekit_register_backend(self, register: Any) -> None:  # missing "s"
            pass

    registry = Registry(strict=False)
    registry.register_plugin(Typo(), name="typo")
    assert registry.failures and "storekit_register_backend" in (registry.failures[0].error or "")


def test_a_duplicate_backend_name_is_rejected() -> None:
    registry = Registry(strict=False)
    registry.register_plugin(_Plugin(_info("memory", 1)), name="a")
    registry.register_plugin(_Plugin(_info("memory", 9)), name="b")
    assert registry.backend("memory").plugin == "a"
    assert "already registered" in (registry.failures[0].error or "")


def test_first_party_backends_load_through_the_entry_point_group() -> None:
    registry = Registry(strict=True)
    registry.load_entry_points()
    loaded = {p.name: p for p in registry.plugins}
    assert loaded["sqlite"].backends == ("sqlite",)
    assert loaded["postgresql"].backends == ("postgresql",)
    assert loaded["sqlite"].source.startswith("storekit ")
    assert registry.backend_for_scheme("postgresql").priority > registry.backend_for_scheme("sqlite").priority


def test_an_entry_point_that_fails_to_import_is_skipped_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_distribution(tmp_path, "brokenplugin", "[storekit]\nbroken = brokenplugin\n",
                               module="raise ImportError('missing dependency xyz')\n")
    _install_fake_distribution(tmp_path, "memplugin", "[storekit]\nmem = memplugin\n", module="""
        from storekit import BackendInfo, hookimpl

        def _open(url, options):
            raise NotImplementedError

        @hookimpl
        def storekit_register_backends(register):
            register(BackendInfo(name="mem", schemes=("mem",), factory=_open, priority=1))
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry(strict=False)
    registry.load_entry_points()
    failed = {p.name: p for p in registry.failures}
    assert "missing dependency xyz" in (failed["broken"].error or "")
    assert failed["broken"].source == "brokenplugin 1.0"
    assert registry.backend("mem").plugin == "mem"
    assert registry.backend("sqlite").plugin == "sqlite"
    with pytest.raises(PluginLoadError, match="broken"):
        Registry(strict=True).load_entry_points()


def test_plugins_command_lists_loaded_plugins_as_json() -> None:
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    names = {p["name"]: p for p in payload["plugins"]}
    assert names["sqlite"]["loaded"] and names["postgresql"]["loaded"]
    backends = {b["name"]: b for b in payload["backends"]}
    assert backends["postgresql"]["schemes"] == ["postgresql", "postgres"]
    assert backends["sqlite"]["priority"] == 10


def test_no_plugin_is_loaded_at_import() -> None:
    import importlib
    import subprocess
    import sys

    code = "import storekit, sys; print('storekit_sqlite' in sys.modules, 'click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert importlib.import_module("storekit") is storekit


# -- name clashes ----------------------------------------------------------------------


def test_a_plugin_name_already_taken_is_a_load_failure_naming_the_first_plugin() -> None:
    registry = Registry(strict=False)
    registry.register_plugin(_Plugin(_info("memory", 1)), name="mem", source="first-dist 1.0")
    registry.register_plugin(_Plugin(_info("other", 1, ("other",))), name="mem", source="second-dist 2.0")
    [failed] = registry.failures
    assert (failed.name, failed.source, failed.loaded) == ("mem", "second-dist 2.0", False)
    assert "plugin name 'mem' is already taken by first-dist 1.0" in (failed.error or "")
    assert [b.name for b in registry.backends()] == ["memory"]
    with pytest.raises(NoBackendError):
        registry.backend("other")
    strict = Registry(strict=True)
    strict.register_plugin(_Plugin(_info("memory", 1)), name="mem", source="first-dist 1.0")
    with pytest.raises(PluginLoadError, match="already taken by first-dist"):
        strict.register_plugin(_Plugin(_info("other", 1, ("other",))), name="mem", source="second-dist 2.0")


def test_a_plugin_name_taken_by_a_plugin_that_failed_is_still_taken() -> None:
    class Broken:
        @hookimpl
        def storekit_register_backends(self, register: Any) -> None:
            raise RuntimeError("boom")

    registry = Registry(strict=False)
    registry.register_plugin(Broken(), name="mem", source="first-dist 1.0")
    registry.register_plugin(_Plugin(_info("memory", 1)), name="mem", source="second-dist 2.0")
    assert [(p.source, p.loaded) for p in registry.plugins] == [("first-dist 1.0", False), ("second-dist 2.0", False)]
    assert "already taken by first-dist 1.0, which failed to load" in (registry.failures[1].error or "")


def test_registering_the_same_plugin_again_under_its_name_changes_nothing() -> None:
    registry = Registry(strict=True)
    plugin = _Plugin(_info("memory", 1))
    registry.register_plugin(plugin, name="mem")
    registry.register_plugin(plugin, name="mem")
    assert [(p.name, p.loaded, p.backends) for p in registry.plugins] == [("mem", True, ("memory",))]


def test_one_plugin_registering_a_backend_name_twice_fails_to_load() -> None:
    registry = Registry(strict=False)
    registry.register_plugin(_Plugin(_info("memory", 1), _info("memory", 9)), name="twice")
    [failed] = registry.failures
    assert failed.name == "twice"
    assert "backend name 'memory' is registered twice by this plugin" in (failed.error or "")
    with pytest.raises(NoBackendError):
        registry.backend("memory")
    with pytest.raises(PluginLoadError, match="registered twice"):
        Registry(strict=True).register_plugin(_Plugin(_info("memory", 1), _info("memory", 9)), name="twice")


def _clashing_distributions(root: Path) -> None:
    for dist in ("clashfirst", "clashsecond"):
        _install_fake_distribution(root, dist, f"[storekit]\nclash = {dist}\n", module=f"""
            from storekit import BackendInfo, hookimpl

            def _open(url, options):
                raise NotImplementedError

            @hookimpl
            def storekit_register_backends(register):
                register(BackendInfo(name="{dist}", schemes=("{dist}",), factory=_open, priority=1))
            """)


def test_two_entry_points_of_one_name_load_the_first_and_report_the_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clashing_distributions(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry(strict=False)
    registry.load_entry_points()
    clash = [p for p in registry.plugins if p.name == "clash"]
    assert [p.loaded for p in clash] == [True, False]
    assert f"plugin name 'clash' is already taken by {clash[0].source}" in (clash[1].error or "")
    assert clash[1].source.startswith("clash") and clash[1].source != clash[0].source
    assert [b.name for b in registry.backends() if b.plugin == "clash"] == [clash[0].source.split()[0]]
    with pytest.raises(PluginLoadError, match="'clash' is already taken"):
        Registry(strict=True).load_entry_points()


def _fresh_global_registry(monkeypatch: pytest.MonkeyPatch, strict: bool) -> None:
    """The CLI's process-wide registry, rebuilt in this test and restored after it."""
    import storekit.registry

    monkeypatch.setattr(storekit.registry, "_registry", None)
    monkeypatch.setenv("STOREKIT_STRICT_PLUGINS", "1" if strict else "0")


def test_plugins_command_lists_a_plugin_whose_name_was_taken_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clashing_distributions(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    _fresh_global_registry(monkeypatch, strict=False)
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    clash = [p for p in payload["plugins"] if p["name"] == "clash"]
    assert [p["loaded"] for p in clash] == [True, False]
    assert "already taken by" in clash[1]["error"]


# -- redaction -----------------------------------------------------------------------

PASSWORD = "hunter2pw"
LEAKY = f"cannot reach postgresql://svc:{PASSWORD}@db.internal/prod"


class _Leaky:
    @hookimpl
    def storekit_register_backends(self, register: Any) -> None:
        raise RuntimeError(LEAKY)


def test_a_plugin_error_quoting_a_password_is_redacted_in_the_status_and_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry(strict=False)
    with caplog.at_level("WARNING", logger="storekit.registry"):
        registry.register_plugin(_Leaky(), name="leaky")
    [failed] = registry.failures
    assert failed.error == "RuntimeError: cannot reach postgresql://svc:***@db.internal/prod"
    assert "'leaky' failed to load" in caplog.text
    assert "db.internal" in caplog.text and PASSWORD not in caplog.text


def test_strict_loading_raises_a_plugin_load_error_without_the_password() -> None:
    import traceback

    with pytest.raises(PluginLoadError) as caught:
        Registry(strict=True).register_plugin(_Leaky(), name="leaky")
    assert "postgresql://svc:***@db.internal/prod" in str(caught.value)
    shown = "".join(traceback.format_exception(caught.type, caught.value, caught.tb))
    assert PASSWORD not in shown  # nor in a chained exception


def test_plugins_command_output_hides_a_password_in_a_plugin_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake_distribution(tmp_path, "leakyplugin", "[storekit]\nleaky = leakyplugin\n",
                               module=f"raise RuntimeError({LEAKY!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()
    _fresh_global_registry(monkeypatch, strict=False)
    as_json = runner.invoke(main, ["plugins", "--json"])
    assert as_json.exit_code == 1, as_json.output
    [leaky] = [p for p in json.loads(as_json.stdout)["plugins"] if p["name"] == "leaky"]
    assert leaky["error"] == "RuntimeError: cannot reach postgresql://svc:***@db.internal/prod"
    _fresh_global_registry(monkeypatch, strict=False)
    table = runner.invoke(main, ["plugins"])
    assert table.exit_code == 1 and "leaky" in table.output
    _fresh_global_registry(monkeypatch, strict=True)
    strict = runner.invoke(main, ["plugins"])
    assert strict.exit_code == 1 and "db.internal" in strict.output
    for result in (as_json, table, strict):
        assert PASSWORD not in result.output
