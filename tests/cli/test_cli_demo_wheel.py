"""``serve --demo`` from an installed wheel, far from a checkout: the demo is package data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree, unpacked as a site directory of its own."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = dist.glob("ruleplus-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "ruleplus/examples/strategies/reference_loan.yaml" in names
    assert "ruleplus/examples/requests/reference_application.json" in names
    return site


def _env(site: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RULEPLUS_")}
    env.update(
        PYTHONPATH=str(site),
        RULEPLUS_DATA_DIR=str(data),
        RULEPLUS_SHARED=str(data / "no-shared-folder"),
        RULEPLUS_IDENTITY="off",
    )
    return env


def test_examples_resolve_inside_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = (
        "import ruleplus, json\n"
        "from ruleplus.cli.demo import example_strategy_path\n"
        "from ruleplus.decision import load_strategy\n"
        "path = example_strategy_path('consumer_loan.yaml')\n"
        "print(json.dumps([ruleplus.__file__, str(path), load_strategy(path).id]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(installed, tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    module, path, strategy_id = json.loads(result.stdout.strip().splitlines()[-1])
    assert module.startswith(str(installed)) and path.startswith(str(installed))
    assert strategy_id == "consumer_loan"


def test_serve_demo_from_the_wheel_decides(installed: Path, tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "var"
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from ruleplus.cli import main; main()",
                "serve",
                "--demo",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=_env(installed, data),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.3)
        key = (data / "demo-api-key").read_text().strip()
        body = (installed / "ruleplus/examples/requests/reference_application.json").read_bytes()
        answer = httpx.post(
            f"{base}/v1/decisions/reference",
            content=body,
            timeout=10,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["decision"] in {"approve", "decline", "review", "refer"}
    finally:
        server.terminate()
        server.wait(timeout=30)
