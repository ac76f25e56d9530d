"""The /v1/identity router on its own FastAPI app (tenant from the X-Tenant header), its errors
answered by the service's one problem handler."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ruleplus.identity.active import ChallengeIssuer
from ruleplus.identity.gallery_store import InMemoryGalleryStore
from ruleplus.service.problems import install_problem_handlers
from ruleplus.service.routers.identity import build_router


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture(scope="module")
def client(engine: Any) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(
        build_router(
            engine, InMemoryGalleryStore(), index="flat", issuer=ChallengeIssuer(b"k" * 32)
        )
    )
    return TestClient(app)


H = {"X-Tenant": "acme"}


def test_identity_api_verify(client: TestClient, pairs_dir: Path) -> None:
    body = {"selfie": b64(pairs_dir / "img1.jpg"), "id_photo": b64(pairs_dir / "img2.jpg")}
    r = client.post("/v1/identity/verify", json=body, headers=H)
    assert r.status_code == 200, r.text
    assert r.json()["match"] is True and "liveness" in r.json()
    assert client.post("/v1/identity/verify", json=body).status_code == 422  # no tenant


def test_identity_api_errors(client: TestClient, pairs_dir: Path) -> None:
    body = {"selfie": "***not base64***", "id_photo": b64(pairs_dir / "img2.jpg")}
    r = client.post("/v1/identity/verify", json=body, headers=H)
    assert r.status_code == 400 and r.json()["code"] == "image_invalid"
    body["selfie"] = base64.b64encode(b"plain text").decode()
    r = client.post("/v1/identity/verify", json=body, headers=H)
    assert r.status_code == 400 and r.json()["code"] == "image_invalid"
    assert "plain text" not in r.text


def test_identity_api_liveness(client: TestClient, liveness_dir: Path) -> None:
    r = client.post(
        "/v1/identity/liveness", json={"image": b64(liveness_dir / "image_F2.jpg")}, headers=H
    )
    assert r.status_code == 200 and r.json()["live"] is False
    ch = client.post("/v1/identity/liveness/challenge", headers=H).json()
    assert ch["token"] and len(ch["actions"]) == 2
    frame = b64(liveness_dir / "image_T1.jpg")
    r = client.post(
        "/v1/identity/liveness/verify",
        json={"token": ch["token"], "frames": [frame] * 3},
        headers=H,
    )
    assert r.status_code == 200 and r.json()["passed"] is False
    r = client.post(
        "/v1/identity/liveness/verify",
        json={"token": ch["token"], "frames": [frame] * 3},
        headers=H,
    )
    assert r.status_code == 409 and r.json()["code"] == "challenge_replayed"
    other = {"X-Tenant": "other"}
    ch = client.post("/v1/identity/liveness/challenge", headers=H).json()
    r = client.post(
        "/v1/identity/liveness/verify",
        json={"token": ch["token"], "frames": [frame] * 3},
        headers=other,
    )
    assert r.status_code == 400 and r.json()["code"] == "challenge_invalid"


def test_identity_api_gallery(client: TestClient, pairs_dir: Path) -> None:
    url = "/v1/identity/gallery"
    alice = {"subject_id": "alice", "image": b64(pairs_dir / "img1.jpg")}
    r = client.post(f"{url}/enroll", json=alice, headers=H)
    assert r.status_code == 200, r.text
    template_id = r.json()["template_id"]
    client.post(
        f"{url}/enroll", json={"subject_id": "bob", "image": b64(pairs_dir / "img3.jpg")}, headers=H
    )
    r = client.post(f"{url}/search", json={"image": b64(pairs_dir / "img2.jpg")}, headers=H)
    assert r.json()["match"]["subject_id"] == "alice"
    assert r.json()["match"]["template_id"] == template_id
    r = client.post(
        f"{url}/search", json={"image": b64(pairs_dir / "img2.jpg")}, headers={"X-Tenant": "other"}
    )
    assert r.json()["match"] is None and r.json()["hits"] == []
    r = client.post(f"{url}/delete", json={"subject_id": "alice"}, headers=H)
    assert r.json()["deleted"] == 1
    r = client.post(f"{url}/search", json={"image": b64(pairs_dir / "img2.jpg")}, headers=H)
    assert r.json()["match"] is None
    r = client.post(f"{url}/delete", json={"subject_id": "alice"}, headers=H)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
