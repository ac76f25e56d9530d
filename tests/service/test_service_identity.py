"""Identity endpoints inside the service: partner-scoped, real models, 503 without models."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import ADMIN, new_partner

from ruleplus.config import Settings
from ruleplus.service import ServiceConfig, create_app

pytest.importorskip("cv2")
pytest.importorskip("torch")
pytest.importorskip("dlib")

SHARED = Settings.load().shared_dir
FACES = SHARED / "data" / "faces"
MODELS = SHARED / "models" / "face"
pytestmark = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"shared face models not found in {MODELS}"
)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ruleplus.identity.weights import install_models

    directory = tmp_path_factory.mktemp("models")
    install_models(directory, from_dir=MODELS)
    return directory


@pytest.fixture
def client(tmp_path: Path, model_dir: Path) -> Iterator[TestClient]:
    env = {
        "RULEPLUS_DATA_DIR": str(tmp_path / "var"),
        "RULEPLUS_ADMIN_KEY": ADMIN["X-Admin-Key"],
        "RULEPLUS_MODEL_DIR": str(model_dir),
    }
    with TestClient(create_app(ServiceConfig.from_env(env=env))) as c:
        yield c


def test_verify_and_gallery_are_partner_scoped(client: TestClient) -> None:
    _, key_a = new_partner(client, "a")
    _, key_b = new_partner(client, "b")
    selfie, same = FACES / "pairs" / "img1.jpg", FACES / "pairs" / "img2.jpg"
    body = {"selfie": _b64(selfie), "id_photo": _b64(same)}
    assert client.post("/v1/identity/verify", json=body).status_code == 401
    result = client.post("/v1/identity/verify", json=body, headers=key_a)
    assert result.status_code == 200, result.text
    verdict = result.json()
    assert {"match", "similarity", "threshold", "liveness", "quality", "reasons"} <= set(verdict)
    enrolled = client.post(
        "/v1/identity/gallery/enroll",
        json={"subject_id": "s1", "image": _b64(selfie)},
        headers=key_a,
    )
    assert enrolled.status_code == 200, enrolled.text
    found = client.post(
        "/v1/identity/gallery/search", json={"image": _b64(selfie)}, headers=key_a
    ).json()
    assert found["match"]["subject_id"] == "s1"
    other = client.post(
        "/v1/identity/gallery/search", json={"image": _b64(selfie)}, headers=key_b
    ).json()
    assert other["match"] is None  # partner b cannot see partner a's gallery
    database = client.app.state.ruleplus.database  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        from sqlalchemy import text

        blob = connection.execute(text("SELECT template FROM face_templates")).scalar_one()
    assert len(blob) > 500 and bytes(blob)[:2] == b"T1"  # stored encrypted


def test_bad_image_is_a_problem_with_a_code(client: TestClient) -> None:
    _, key = new_partner(client, "a")
    response = client.post(
        "/v1/identity/liveness",
        json={"image": base64.b64encode(b"not an image").decode()},
        headers=key,
    )
    assert response.status_code in (400, 415, 422)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "image_invalid"


def test_without_models_the_endpoints_say_what_to_install(tmp_path: Path) -> None:
    env = {
        "RULEPLUS_DATA_DIR": str(tmp_path / "var"),
        "RULEPLUS_ADMIN_KEY": ADMIN["X-Admin-Key"],
        "RULEPLUS_MODEL_DIR": str(tmp_path / "no-models"),
    }
    with TestClient(create_app(ServiceConfig.from_env(env=env))) as c:
        _, key = new_partner(c, "a")
        response = c.post("/v1/identity/verify", json={}, headers=key)
        assert response.status_code == 503
        assert "ruleplus models install" in response.json()["detail"]


def test_identity_results_feed_the_decision(client: TestClient) -> None:
    import json

    root = Path(__file__).resolve().parents[2]
    document = (root / "examples" / "strategies" / "consumer_loan.yaml").read_text(encoding="utf-8")
    application = json.loads(
        (root / "examples" / "requests" / "cash_loan_application.json").read_text()
    )
    partner_id, key = new_partner(client, "a")
    assert (
        client.post("/v1/admin/strategies", json={"document": document}, headers=ADMIN).status_code
        == 201
    )
    client.post(
        "/v1/admin/deployments",
        json={
            "partner_id": partner_id,
            "product": "cash",
            "strategy_id": "consumer_loan",
            "champion": "1.0.0",
        },
        headers=ADMIN,
    )
    pairs = (FACES / "pairs" / "master.csv").read_text().splitlines()[1:]
    different = next(line.split(",") for line in pairs if line.strip().endswith("No"))
    body = {
        **application,
        "identity": {
            "selfie": _b64(FACES / "pairs" / different[0]),
            "id_photo": _b64(FACES / "pairs" / different[1]),
        },
    }
    decided = client.post("/v1/decisions/cash", json=body, headers=key)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "decline"
    assert "KO08" in [r["code"] for r in decided.json()["reasons"]]
    stored = client.get(f"/v1/decisions/{decided.json()['decision_id']}", headers=key).json()
    assert stored["application"]["face_match"] is False
    database = client.app.state.ruleplus.database  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        from sqlalchemy import text

        request = connection.execute(text("SELECT request FROM decisions")).scalar_one()
    assert body["identity"]["selfie"][:40] not in str(request)  # the images are not stored
    assert "selfie_sha256" in str(request)
