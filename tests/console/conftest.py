"""A real service (uvicorn on a free port) with the demo's strategies, a partner, console users
and a few hundred stored decisions, for the console's browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from console_helpers import CHROMIUM, PASSWORD, Served

from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.service import ServiceConfig, create_app
from ruleplus.service.console import BUNDLE_DIR
from ruleplus.serving import admin, users
from ruleplus.store.repos import DeploymentSpec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (BUNDLE_DIR / "index.html").is_file():
        pytest.fail("the console bundle is not built: run `make console` (make test does)")
    data = tmp_path_factory.mktemp("console")
    env = {
        "RULEPLUS_DATA_DIR": str(data / "var"),
        "RULEPLUS_ADMIN_KEY": "e2e-admin-key",
        "RULEPLUS_SECRET_KEY": "e2e-server-secret-0123456789abcdef",
        "RULEPLUS_IDENTITY": "off",
    }
    config = ServiceConfig.from_env(env=env)
    app = create_app(config)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.05)
    state = app.state.ruleplus
    db = state.database
    partner = admin.create_partner(db, "demo-partner", "e2e")
    for name, product in (
        ("reference_loan.yaml", "reference"),
        ("consumer_loan.yaml", "cash_loan"),
    ):
        info = admin.publish_strategy(db, example_strategy_path(name).read_text(), "e2e")
        admin.deploy(
            db,
            DeploymentSpec(partner["partner_id"], product, info["strategy_id"], info["version"]),
            actor="e2e",
        )
    users.seed_demo_users(db, PASSWORD)
    state.changed()
    base = f"http://127.0.0.1:{port}"
    ids: list[str] = []
    with httpx.Client(base_url=base, headers={"X-API-Key": partner["api_key"]}) as client:
        for record in synth_applications(200, seed=3).to_dicts():
            body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
            for product in ("reference", "cash_loan"):
                answer = client.post(f"/v1/decisions/{product}", json=body)
                assert answer.status_code == 200, answer.text
                ids.append(answer.json()["decision_id"])
    try:
        yield Served(base, partner["partner_id"], partner["api_key"], ids, state)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/console when RULEPLUS_CONSOLE_SHOTS=1, else a temp folder."""
    if os.environ.get("RULEPLUS_CONSOLE_SHOTS") == "1":
        target = Path(__file__).resolve().parents[2] / "docs" / "console"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("shots")
