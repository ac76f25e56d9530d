"""Service fixtures: a fresh SQLite-backed app per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import make_client


@pytest.fixture(autouse=True, scope="session")
def _one_server_secret() -> Iterator[None]:
    """Every service a test starts shares one server secret, as the workers and hosts of one
    deployment do (it keys the audit chain and the digests of sensitive values)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RULEPLUS_SECRET_KEY", "test-server-secret-0123456789abcdef")
        yield


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        yield c
