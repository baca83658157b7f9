"""The conformance kit's one obligation: the URL of a fresh, empty memory store."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(scope="session")
def storekit_url() -> str:
    return f"memory://{uuid.uuid4().hex}"
