"""The console's HTTP side: session cookies, CSRF, roles, maker-checker, validation pointing at
cells, deployments, the explorer and the bundle's 503."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from service_helpers import GOOD, REFERENCE_DOC, make_client

from ruleplus.serving import users
from ruleplus.store.audit import verify_log

PASSWORD = "correct horse battery"


@pytest.fixture
def console(tmp_path: Path) -> Any:
    with make_client(tmp_path) as client:
        db = client.app.state.ruleplus.database  # type: ignore[attr-defined]
        for name, role in (
            ("ana", "analyst"),
            ("apu", "approver"),
            ("vic", "viewer"),
            ("adm", "admin"),
        ):
            users.create_user(db, name, role, PASSWORD, "test")
        yield client


def sign_in(client: TestClient, name: str) -> dict[str, str]:
    client.cookies.clear()
    response = client.post("/console/api/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http in tests; https sets Secure
    return {"X-CSRF-Token": response.json()["csrf"]}


def reference() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REFERENCE_DOC)
    return data


def test_login_refuses_bad_password_and_locks_out(console: TestClient) -> None:
    for _ in range(users.LOCK_AFTER):
        bad = console.post("/console/api/login", json={"name": "ana", "password": "wrong-one!"})
        assert bad.status_code == 401
        assert bad.json()["detail"] == "wrong user name or password"
    locked = console.post("/console/api/login", json={"name": "ana", "password": PASSWORD})
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]
    unknown = console.post("/console/api/login", json={"name": "nobody", "password": PASSWORD})
    assert unknown.json()["detail"] == "wrong user name or password"
    with console.app.state.ruleplus.database.session() as session:  # type: ignore[attr-defined]
        from sqlalchemy import select

        from ruleplus.store.tables import AuditEntry, ConsoleUser

        actions = [
            a.action
            for a in session.execute(select(AuditEntry).where(AuditEntry.actor == "ana")).scalars()
        ]
        stored = session.execute(select(ConsoleUser).where(ConsoleUser.name == "ana")).scalar_one()
    assert actions.count("login-failed") == users.LOCK_AFTER and "login-locked" in actions
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_api_needs_a_session_and_csrf(console: TestClient) -> None:
    assert console.get("/console/api/strategies").status_code == 401
    csrf = sign_in(console, "ana")
    assert console.get("/console/api/strategies").status_code == 200
    body = {"document": reference()}
    no_token = console.post("/console/api/strategies/check", json=body)
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
    wrong = console.post("/console/api/strategies/check", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert console.post("/console/api/strategies/check", json=body, headers=csrf).json()["valid"]
    # a reopened page asks for a new token; the old one stops working
    fresh = {"X-CSRF-Token": console.get("/console/api/session").json()["csrf"]}
    assert console.post("/console/api/strategies/check", json=body, headers=csrf).status_code == 403
    assert (
        console.post("/console/api/strategies/check", json=body, headers=fresh).status_code == 200
    )
    assert console.post("/console/api/logout", headers=fresh).status_code == 200
    assert console.get("/console/api/strategies").status_code == 401


def test_validation_points_at_the_cell_and_the_routing_target(console: TestClient) -> None:
    csrf = sign_in(console, "ana")
    doc = reference()
    doc["nodes"][1]["rules"][3][2] = "> 6x"
    answer = console.post("/console/api/strategies/check", json={"document": doc}, headers=csrf)
    error = answer.json()["errors"][0]
    assert error["node"] == "policy" and error["path"] == ["nodes", 1, "rules", 3, 2]
    doc = reference()
    doc["nodes"][2]["cases"][1]["goto"] = "nowhere"
    error = console.post(
        "/console/api/strategies/check", json={"document": doc}, headers=csrf
    ).json()["errors"][0]
    assert "unknown node 'nowhere'" in error["message"]
    assert error["path"] == ["nodes", 2, "cases", 1, "goto"]


def test_maker_checker_and_roles(console: TestClient) -> None:
    admin_csrf = sign_in(console, "adm")
    # the published baseline comes through the console's admin too (drafted by adm)
    doc = reference()
    created = console.post(
        "/console/api/strategies/drafts", json={"document": doc}, headers=admin_csrf
    )
    assert created.status_code == 201 and created.json()["status"] == "validated"
    csrf = sign_in(console, "ana")
    doc["version"] = "1.1.0"
    doc["nodes"][1]["rules"][1][0] = "< 520"
    drafted = console.post("/console/api/strategies/drafts", json={"document": doc}, headers=csrf)
    assert drafted.status_code == 201, drafted.text
    # an analyst may not publish, not even someone else's version
    refused = console.post("/console/api/strategies/reference_loan/1.1.0/publish", headers=csrf)
    assert refused.status_code == 403
    # an approver may not publish a version they drafted
    csrf = sign_in(console, "apu")
    doc["version"] = "1.2.0"
    own = console.post("/console/api/strategies/drafts", json={"document": doc}, headers=csrf)
    assert own.status_code == 201
    mine = console.post("/console/api/strategies/reference_loan/1.2.0/publish", headers=csrf)
    assert mine.status_code == 409 and "maker-checker" in mine.json()["detail"]
    ok = console.post("/console/api/strategies/reference_loan/1.1.0/publish", headers=csrf)
    assert ok.status_code == 200 and ok.json()["status"] == "published"
    versions = console.get("/console/api/strategies").json()[0]["versions"]
    by_version = {v["version"]: v for v in versions}
    assert by_version["1.1.0"]["created_by"] == "ana"
    assert by_version["1.1.0"]["approved_by"] == "apu"
    diff = console.get("/console/api/strategies/reference_loan/diff?old=1.0.0&new=1.1.0").json()
    assert diff["old"]["document"]["nodes"][1]["rules"][1][0] == "< 500"
    assert diff["new"]["document"]["nodes"][1]["rules"][1][0] == "< 520"
    assert "< 520" in diff["unified"]
    # viewers read only
    csrf = sign_in(console, "vic")
    assert (
        console.post(
            "/console/api/strategies/drafts", json={"document": doc}, headers=csrf
        ).status_code
        == 403
    )
    assert console.get("/console/api/users").status_code == 403


def test_deploy_challenger_and_explore_a_decision(console: TestClient) -> None:
    csrf = sign_in(console, "adm")
    created = console.post("/console/api/partners", json={"name": "acme"}, headers=csrf).json()
    key = {"X-API-Key": created["api_key"]}
    listed = console.get("/console/api/partners").json()
    assert "api_key" not in str(listed)  # shown once, never listed
    doc = reference()
    assert (
        console.post(
            "/console/api/strategies/drafts", json={"document": doc}, headers=csrf
        ).status_code
        == 201
    )
    doc["version"] = "1.1.0"
    assert (
        console.post(
            "/console/api/strategies/drafts", json={"document": doc}, headers=csrf
        ).status_code
        == 201
    )
    csrf = sign_in(console, "apu")
    # adm drafted both; apu approves them
    for version in ("1.0.0", "1.1.0"):
        assert (
            console.post(
                f"/console/api/strategies/reference_loan/{version}/publish", headers=csrf
            ).status_code
            == 200
        )
    body = {
        "partner_id": created["partner_id"],
        "product": "loan",
        "strategy_id": "reference_loan",
        "champion": "1.0.0",
        "challengers": [{"version": "1.1.0", "share": 30}],
    }
    deployed = console.post("/console/api/deployments", json=body, headers=csrf)
    assert deployed.status_code == 201, deployed.text
    assert deployed.json()["challengers"] == [{"version": "1.1.0", "share": 30.0}]
    decided = console.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert decided.status_code in (200, 201), decided.text
    decision_id = decided.json()["decision_id"]
    found = console.get("/console/api/decisions", params={"product": "loan"}).json()["items"]
    assert [d["decision_id"] for d in found] == [decision_id]
    assert console.get("/console/api/decisions", params={"product": "other"}).json()["items"] == []
    code = found[0]["reasons"][0]
    assert console.get("/console/api/decisions", params={"reason": code}).json()["items"]
    assert not console.get("/console/api/decisions", params={"reason": "NOPE"}).json()["items"]
    one = console.get(f"/console/api/decisions/{decision_id}").json()
    assert one["document"]["id"] == "reference_loan"
    assert one["reason_texts"][0]["text_zh"]
    # the audit chain holds every console action, by user name
    db = console.app.state.ruleplus.database  # type: ignore[attr-defined]
    with db.engine.connect() as connection:
        assert verify_log(connection, db.audit_key).ok


def test_missing_bundle_is_a_clear_503(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ruleplus.service.console import bundle

    page = console.get("/console/")
    if page.status_code == 200:  # a built bundle: index.html with the app's root element
        assert 'id="root"' in page.text
    router = bundle.bundle_router(Path("/nonexistent-bundle"))
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    missing = TestClient(app).get("/console/")
    assert missing.status_code == 503 and "make console" in missing.text


def test_identity_demo_page_api(console: TestClient, engine: Any, pairs_dir: Path) -> None:
    import base64
    import io

    from PIL import Image

    def shrunk(name: str) -> bytes:
        # as the page does before uploading: at most 640 px a side, JPEG
        image = Image.open(pairs_dir / name).convert("RGB")
        image.thumbnail((640, 640))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92)
        return out.getvalue()

    selfie, photo = shrunk("img1.jpg"), shrunk("img2.jpg")
    csrf = sign_in(console, "vic")
    images = {
        "selfie": base64.b64encode(selfie).decode(),
        "id_photo": base64.b64encode(photo).decode(),
    }
    unavailable = console.post("/console/api/identity/verify", json=images, headers=csrf)
    assert unavailable.status_code == 503 and "face models" in unavailable.json()["detail"]
    console.app.state.ruleplus.identity = engine  # type: ignore[attr-defined]
    out = console.post("/console/api/identity/verify", json=images, headers=csrf)
    assert out.status_code == 200, out.text
    result = out.json()
    expected = engine.verify(selfie, photo, multiple="largest").to_dict()
    assert result["match"] == expected["match"] and result["distance"] == expected["distance"]
    box = result["faces"]["selfie"]["face"]["box"]
    assert len(box) == 4 and box[2] > 0 and box[3] > 0
    assert "template" not in str(result)


def test_admins_manage_users_in_the_console(console: TestClient) -> None:
    csrf = sign_in(console, "adm")
    body = {"name": "newbie", "role": "analyst", "password": PASSWORD}
    created = console.post("/console/api/users", json=body, headers=csrf)
    assert created.status_code == 201 and created.json()["role"] == "analyst"
    short = console.post(
        "/console/api/users", json={**body, "name": "x2", "password": "short"}, headers=csrf
    )
    assert short.status_code == 422 and short.json()["field"] == "password"
    promoted = console.post(
        "/console/api/users/newbie/role", json={"role": "approver"}, headers=csrf
    )
    assert promoted.json()["role"] == "approver"
    assert (
        console.post("/console/api/users/newbie/disable", headers=csrf).json()["status"]
        == "disabled"
    )
    names = {u["name"]: u for u in console.get("/console/api/users").json()}
    assert names["newbie"]["status"] == "disabled" and "password_hash" not in names["newbie"]
    csrf = sign_in(console, "ana")
    assert console.post("/console/api/users", json=body, headers=csrf).status_code == 403


def test_a_console_body_is_read_only_after_the_session_and_csrf_check(console: TestClient) -> None:
    big = {"document": "x" * (2 << 20)}  # over the partner limit, under the console's
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = console.post(
            "/console/api/strategies/check",
            content=b"{}",
            headers={**headers, "Content-Type": "application/json", "Content-Length": str(1 << 30)},
        )
        # refused on the headers alone: a 1 GiB body announced without a session is never read
        assert refused.status_code in (401, 403), refused.text
    csrf = sign_in(console, "ana")
    answer = console.post("/console/api/strategies/check", json=big, headers=csrf)
    # a signed-in body of 2 MiB is read (and then refused on its content)
    assert answer.status_code == 422 and "document" in answer.text, answer.text
    huge = console.post(
        "/console/api/strategies/check",
        content=b"{}",
        headers={**csrf, "Content-Type": "application/json", "Content-Length": str(1 << 30)},
    )
    assert huge.status_code == 413
    login = console.post(
        "/console/api/login",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(1 << 20)},
    )
    assert login.status_code == 413  # a sign-in body is small


def test_sign_ins_are_throttled_per_client_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ruleplus.service.app as app_module
    from ruleplus.service.gate import GateLimits

    monkeypatch.setattr(app_module, "gate_limits", lambda config: GateLimits(login_rate=0.01))
    with make_client(tmp_path) as client:
        answers = [
            client.post("/console/api/login", json={"name": "nobody", "password": "x" * 12})
            for _ in range(3)
        ]
    # the first guess is checked (401); the next ones are refused before a hash is computed
    assert [a.status_code for a in answers] == [401, 429, 429]
    assert answers[-1].headers.get("retry-after")
