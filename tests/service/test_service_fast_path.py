"""The gate's fast path for ``POST /v1/decisions/{product}`` answers exactly as the FastAPI
route does: the same statuses, bodies, headers, metrics and stored rows, for good and bad
requests alike (the pattern of the row/vector agreement tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, decision_answers, deploy, make_client, new_partner, publish
from sqlalchemy.exc import DataError as SQLAlchemyDataError

import ruleplus.service.routers.decisions as decisions_router


def _client(tmp_path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    if not fast:

        async def never(*args: Any) -> bool:
            return False

        monkeypatch.setattr(decisions_router, "decide_in_gate", never)
    client = make_client(tmp_path / ("fast" if fast else "route"))
    monkeypatch.undo()
    return client


def test_the_fast_path_answers_as_the_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        _client(tmp_path, True, monkeypatch) as fast,
        _client(tmp_path, False, monkeypatch) as slow,
    ):
        got = list(decision_answers(fast))
        want = list(decision_answers(slow))
        assert [g[:2] for g in got] == [w[:2] for w in want]
        for g, w in zip(got, want, strict=True):
            assert g == w, g[0]
        statuses = dict((g[0], g[1]) for g in got)
        assert statuses["good"] == statuses["replay"] == 200
        assert statuses["reused key"] == 409 and statuses["long key"] == 422
        metrics = [
            c.get("/metrics", headers=ADMIN).text.count('route="/v1/decisions/{product}"')
            for c in (fast, slow)
        ]
        assert metrics[0] == metrics[1] > 0  # the fast path is counted under the same route
        audits = [c.get("/v1/admin/audit/verify", headers=ADMIN).json() for c in (fast, slow)]
        assert audits[0] == audits[1] and audits[0]["ok"] is True  # as many decisions stored


def test_the_fast_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = decisions_router.answer_decision

    async def spy(*args: Any, **kwargs: Any) -> Any:
        import inspect

        calls.append(inspect.stack()[1].function)
        return await real(*args, **kwargs)

    monkeypatch.setattr(decisions_router, "answer_decision", spy)
    with make_client(tmp_path) as client:
        partner_id, key = new_partner(client, "acme")
        publish(client)
        deploy(client, partner_id)
        assert client.post("/v1/decisions/loan", json=GOOD, headers=key).status_code == 200
    assert calls == ["decide_in_gate"]


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (RuntimeError("boom"), 500, "internal-error"),
        (SQLAlchemyDataError("INSERT ...", {}, Exception("value too long")), 422, "invalid-data"),
    ],
)
def test_errors_on_the_fast_path_are_answered_as_the_app_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, kind: str
) -> None:
    """The gate wraps the app (outside FastAPI's handlers): an unexpected error, or a value the
    database refuses, still gets the app's problem+json answer, not the server's plain 500."""

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    with make_client(tmp_path) as client:
        partner_id, key = new_partner(client, "acme")
        publish(client)
        deploy(client, partner_id)
        monkeypatch.setattr(client.app.state.ruleplus.decisions, "decide_async", failing)  # type: ignore[attr-defined]
        response = client.post("/v1/decisions/loan", json=GOOD, headers=key)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith(kind)
        assert "boom" not in response.text and "INSERT" not in response.text
        monkeypatch.undo()
        assert client.get("/healthz").status_code == 200  # the service goes on
