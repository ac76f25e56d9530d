"""The gate's partner cache: one database read per key however many requests miss at once, and
entries re-read in the background before they expire (a key revoked elsewhere is dropped)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from service_helpers import make_client, new_partner

import ruleplus.service.gate as gate_module
from ruleplus.store.repos import PartnerRepo, key_digest


def _counting_reads(monkeypatch: pytest.MonkeyPatch, delay_s: float) -> list[str]:
    calls: list[str] = []
    real = gate_module._authenticate

    def slow(state: Any, api_key: str) -> Any:
        calls.append(api_key)
        time.sleep(delay_s)  # a database that takes its time: the others arrive meanwhile
        return real(state, api_key)

    monkeypatch.setattr(gate_module, "_authenticate", slow)
    return calls


def test_requests_that_miss_together_share_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(tmp_path) as client:
        _, key = new_partner(client, "busy")
        client.app.state.ruleplus.partners.clear()  # type: ignore[attr-defined]
        calls = _counting_reads(monkeypatch, 0.3)
        statuses: list[int] = []

        def one() -> None:
            statuses.append(client.get("/v1/no-such-route", headers=key).status_code)

        threads = [threading.Thread(target=one) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert statuses == [404] * 12
        assert len(calls) == 1


def test_an_aging_entry_is_read_again_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(tmp_path) as client:
        partner_id, key = new_partner(client, "revoked-elsewhere")
        state = client.app.state.ruleplus  # type: ignore[attr-defined]
        assert client.get("/v1/no-such-route", headers=key).status_code == 404
        digest = key_digest(key["X-API-Key"])
        # revoked by another process: this one is not told, its cache still holds the key
        with state.database.session() as session:
            PartnerRepo(session).revoke(partner_id)
            session.commit()
        assert client.get("/v1/no-such-route", headers=key).status_code == 404
        calls = _counting_reads(monkeypatch, 0.0)
        stamp, partner = state.partners[digest]
        state.partners[digest] = (stamp - 1.5, partner)  # read 1.5 s ago: due for a refresh
        assert client.get("/v1/no-such-route", headers=key).status_code == 404  # not waiting
        deadline = time.monotonic() + 10
        while digest in state.partners and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls == [key["X-API-Key"]]
        assert digest not in state.partners
        assert client.get("/v1/no-such-route", headers=key).status_code == 401


def test_a_fresh_entry_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_client(tmp_path) as client:
        _, key = new_partner(client, "steady")
        assert client.get("/v1/no-such-route", headers=key).status_code == 404
        calls = _counting_reads(monkeypatch, 0.0)
        for _ in range(20):
            assert client.get("/v1/no-such-route", headers=key).status_code == 404
        assert calls == []
