"""The conformance kit's whole suite on SQLite and PostgreSQL: the ``storekit_url``
fixture in conftest.py is the one thing a backend supplies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import storekit
from storekit.testing import KIT_VERSION, suite
from storekit.testing.suite import *  # noqa: F403

# -- the kit itself, on a backend that lacks capabilities --------------------------------

KIT_CONFTEST = '''
import pytest
from storekit import BackendInfo, Capability, hookimpl
from storekit.registry import reset_registry
from storekit.testing import ReferenceBackend


class Plugin:
    @hookimpl
    def storekit_register_backends(self, register):
        register(BackendInfo(
            name="reference", schemes=("reference",), factory=lambda url, options: ReferenceBackend(),
            capabilities=[Capability.TRANSACTIONS],
            unsupported={Capability.PERSISTENT: "keeps its records in memory"},
        ))


@pytest.fixture(scope="session")
def storekit_url():
    reset_registry([("reference", Plugin())])
    return "reference://"
'''


def test_the_kit_skips_by_declared_capability_and_reports_why(tmp_path: Path) -> None:
    """The reference model as a backend: the kit's own oracle passes the suite, and what
    it does not declare is skipped with its stated reason or the default one."""
    (tmp_path / "conftest.py").write_text(KIT_CONFTEST, encoding="utf-8")
    (tmp_path / "test_kit.py").write_text("from storekit.testing.suite import *  # noqa: F401,F403\n",
                                          encoding="utf-8")
    report = tmp_path / "report.json"
    env = {**os.environ, "STOREKIT_STRICT_PLUGINS": "1"}
    env.pop("HYPOTHESIS_PROFILE", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not reads_back",
         f"--storekit-report={report}", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["kit_version"] == KIT_VERSION == "1"
    assert data["storekit_version"] == storekit.__version__
    assert data["backend"] == "reference"
    assert data["backends"] == [{"name": "reference", "plugin": "reference", "capabilities": ["transactions"],
                                 "unsupported": {"persistent": "keeps its records in memory"}}]
    outcomes = {t["test"].split("::")[1]: t for t in data["tests"]}
    assert set(outcomes) == set(suite.__all__) - {"test_a_written_record_reads_back_the_same"}
    assert all(t["backend"] == "reference" for t in data["tests"])
    persist = outcomes["test_records_survive_reopening_the_store"]
    assert (persist["outcome"], persist["skip_reason"]) == ("skipped", "keeps its records in memory")
    dangling = outcomes["test_a_dangling_reference_is_an_integrity_error"]
    assert (dangling["outcome"], dangling["skip_reason"]) == (
        "skipped", "reference does not declare capability foreign-keys")
    assert dangling["requires"] == ["foreign-keys"]
    skipped = {name for name, t in outcomes.items() if t["outcome"] == "skipped"}
    assert skipped == {"test_records_survive_reopening_the_store", "test_a_dangling_reference_is_an_integrity_error",
                       "test_deleting_a_referenced_record_is_an_integrity_error"}
    assert data["summary"] == {"passed": len(outcomes) - 3, "failed": 0, "skipped": 3}


def test_the_plugin_is_inert_without_the_suite(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    import sys\n"
                                            "    assert 'hypothesis' not in sys.modules\n"
                                            "    assert 'storekit.testing.suite' not in sys.modules\n",
                                            encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         f"--storekit-report={tmp_path / 'r.json'}", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert (data["backends"], data["tests"], data["backend"]) == ([], [], None)
