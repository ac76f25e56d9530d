"""Property-based API test: schemathesis generates requests from the app's own OpenAPI schema
and calls the app in-process (ASGI); whatever it sends, the service must not answer 5xx.

Run against SQLite and against PostgreSQL (a fresh database, dropped after; skipped only when
PostgreSQL is unreachable), which refuses more (over-long or NUL-bearing text). A partner with
the reference strategy deployed for product ``loan`` and the administrator are seeded first,
and both keys go with every request, so generated requests get past authentication into the
handlers; every other generated request for a product-bound path uses ``loan``, so decisions
and dry runs reach the strategy. Bounded and deterministic: 25 examples per operation,
derandomized.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from service_helpers import ADMIN, REFERENCE_DOC

from ruleplus.service import ServiceConfig, create_app
from ruleplus.serving import admin
from ruleplus.store.repos import DeploymentSpec

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = f"ruleplus_schemathesis_{uuid.uuid4().hex[:10]}"
_PRODUCT_PATHS = ("/v1/decisions/{product}", "/v1/mappings/{product}/dry-run")
_turn = itertools.count()
BOUNDED = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _app(database_url: str | None) -> tuple[FastAPI, Path, Any]:
    """The app (built now, no I/O: its state is built when its lifespan starts) and its schema,
    bound to it so that calls go to the app in-process, as ``from_asgi`` would do."""
    # created only when the lifespan starts (an unrun module leaves nothing behind)
    data_dir = Path(tempfile.gettempdir()) / f"ruleplus-schemathesis-{uuid.uuid4().hex}"
    env = {"RULEPLUS_DATA_DIR": str(data_dir), "RULEPLUS_ADMIN_KEY": ADMIN["X-Admin-Key"]}
    if database_url:
        env["RULEPLUS_DATABASE_URL"] = database_url
    app = create_app(ServiceConfig.from_env(env=env))
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    return app, data_dir, schema


SQLITE_APP, SQLITE_DIR, sqlite_schema = _app(None)
PG_APP, PG_DIR, pg_schema = _app(f"{PG_SERVER}/{PG_NAME}")


def _serve(app: FastAPI, data_dir: Path) -> Iterator[dict[str, str]]:
    """Start the app's lifespan, seed a partner and a deployment; the headers to send."""
    from schemathesis.python import asgi

    try:
        with asgi.get_client(app):  # starts the lifespan, which stays up for the module
            state = app.state.ruleplus
        partner = admin.create_partner(state.database, "schemathesis", "test", 1e6)
        admin.publish_strategy(state.database, REFERENCE_DOC, "test")
        spec = DeploymentSpec(partner["partner_id"], "loan", "reference_loan", "1.0.0")
        admin.deploy(state.database, spec, actor="test")
        yield {**ADMIN, "X-API-Key": partner["api_key"]}
    finally:
        asgi.shutdown_lifespans()  # closes the states: the writers flush, connections close
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def sqlite_service() -> Iterator[dict[str, str]]:
    yield from _serve(SQLITE_APP, SQLITE_DIR)


@pytest.fixture(scope="module")
def pg_service() -> Iterator[dict[str, str]]:
    psycopg = pytest.importorskip("psycopg")
    try:
        server = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        shutil.rmtree(PG_DIR, ignore_errors=True)
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}")
    with server:
        server.execute(f'CREATE DATABASE "{PG_NAME}"')
    try:
        yield from _serve(PG_APP, PG_DIR)
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


def _call(case: Any, headers: dict[str, str]) -> None:
    if case.operation.path in _PRODUCT_PATHS and next(_turn) % 2 == 0:
        case.path_parameters = {**(case.path_parameters or {}), "product": "loan"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])


@sqlite_schema.parametrize()
@BOUNDED
def test_no_server_errors_sqlite(case: Any, sqlite_service: dict[str, str]) -> None:
    _call(case, sqlite_service)


@pg_schema.parametrize()
@BOUNDED
def test_no_server_errors_postgresql(case: Any, pg_service: dict[str, str]) -> None:
    _call(case, pg_service)
