"""Measure the console's simulation over 100,000 stored decisions (not collected by pytest).

    .venv/bin/python tests/console/bench_simulation.py [ROWS]

Stores ROWS synthetic consumer-loan decisions (straight into the decisions table: the audit
chain is not what is measured), then times POST /console/api/simulate (draft vs published:
the lab's backtest with swap set, rule hits and partner/channel breakdowns; then with the
cut-off curve too), against the peers' way: deciding the same applications one at a time
with both versions.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import insert

from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.decision import compile_strategy
from ruleplus.service import ServiceConfig, create_app
from ruleplus.serving import admin, users
from ruleplus.store.tables import DecisionRecord

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
TEXT = example_strategy_path("consumer_loan.yaml").read_text(encoding="utf-8")


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    env = {
        "RULEPLUS_DATA_DIR": str(tmp / "var"),
        "RULEPLUS_ADMIN_KEY": "bench-admin-key",
        "RULEPLUS_SECRET_KEY": "bench-secret-0123456789abcdef0123",
        "RULEPLUS_IDENTITY": "off",
    }
    if os.environ.get("RULEPLUS_DATABASE_URL"):
        env["RULEPLUS_DATABASE_URL"] = os.environ["RULEPLUS_DATABASE_URL"]
    with TestClient(create_app(ServiceConfig.from_env(env=env))) as client:
        state = client.app.state.ruleplus  # type: ignore[attr-defined]
        db = state.database
        partner = admin.create_partner(db, "bench", "bench")
        admin.publish_strategy(db, TEXT, "bench")
        users.create_user(db, "ana", "analyst", "bench-password", "bench")
        frame = synth_applications(ROWS, seed=5)
        records = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in frame.to_dicts()
        ]
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        with db.session() as session:
            for i in range(0, ROWS, 5000):
                session.execute(
                    insert(DecisionRecord),
                    [
                        {
                            "id": f"d_{uuid.uuid4().hex}",
                            "partner_id": partner["partner_id"],
                            "product": "cash_loan",
                            "channel": r["channel"],
                            "request_digest": "0" * 64,
                            "request": {},
                            "application": r,
                            "outcome": None,
                            "outputs": {},
                            "reasons": [],
                            "strategy_id": "consumer_loan",
                            "strategy_version": "1.0.0",
                            "arm": "champion",
                            "latency_ms": 0.0,
                            "created_at": now - dt.timedelta(seconds=i + k),
                        }
                        for k, r in enumerate(records[i : i + 5000])
                    ],
                )
            session.commit()
        print(f"stored {ROWS:,} decisions in {time.perf_counter() - started:.1f}s")
        login = client.post(
            "/console/api/login", json={"name": "ana", "password": "bench-password"}
        )
        client.headers["X-CSRF-Token"] = login.json()["csrf"]
        doc = yaml.safe_load(TEXT)
        doc["version"] = "1.0.1"
        doc["parameters"]["cutoff"]["default"] = 620
        sample = {"limit": ROWS}
        for label, extra in (
            ("backtest + swap set", {}),
            ("+ cut-off curve", {"parameter": "cutoff"}),
        ):
            started = time.perf_counter()
            answer = client.post(
                "/console/api/simulate", json={"document": doc, "sample": sample, **extra}
            )
            seconds = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            out = answer.json()
            print(f"console simulate ({label}): {out['n']:,} decisions in {seconds:.2f}s")
        # the peers' way: one case at a time, both versions
        draft = compile_strategy(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        published = compile_strategy(TEXT)
        started = time.perf_counter()
        for r in records:
            draft.evaluate(r)
            published.evaluate(r)
        seconds = time.perf_counter() - started
        print(f"one case at a time (draft + published, no counting): {seconds:.2f}s")


if __name__ == "__main__":
    main()
