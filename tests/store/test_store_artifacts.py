"""The content-addressed artifact store, and strategies stored by content only."""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from ruleplus.decision import ArtifactError, StoredArtifacts, compile_strategy
from ruleplus.decision.nodes.ml_model import MODEL_FORMATS, FakeModel
from ruleplus.errors import StrategyCompileError, StrategyLoadError
from ruleplus.serving import strategies
from ruleplus.store import Database
from ruleplus.store.artifacts import ArtifactStore, is_ref
from ruleplus.store.repos import StrategyRepo
from strategy_documents import CHILD, MODEL, PARENT


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


# the store --------------------------------------------------------------------------------------


def test_put_read_open_and_contains(store: ArtifactStore) -> None:
    ref = store.put(b"model bytes")
    assert ref == "sha256:" + hashlib.sha256(b"model bytes").hexdigest() and is_ref(ref)
    assert store.put(b"model bytes") == ref  # idempotent
    assert store.read(ref) == b"model bytes"
    assert store.open(ref).read() == b"model bytes"
    assert store.path(ref) == store.root / ref.removeprefix("sha256:")
    assert ref in store and "sha256:" + "0" * 64 not in store and "x" not in store
    assert [p.name for p in store.root.iterdir()] == [ref.removeprefix("sha256:")]


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("/etc/passwd", "absolute paths"),
        ("../x.yaml", "'..'"),
        ("models/../../x", "'..'"),
        ("model.txt", "file names"),
        ("sha256:" + "A" * 64, "64 lowercase hex"),
        ("sha256:" + "a" * 63, "64 lowercase hex"),
        ("sha256:" + "a" * 64 + "/../x", "'..'"),
    ],
)
def test_anything_but_a_digest_reference_is_refused(
    store: ArtifactStore, ref: str, why: str
) -> None:
    with pytest.raises(ArtifactError, match="refused") as info:
        store.read(ref)
    assert why in info.value.message and "sha256:<64 hex digits>" in info.value.message


def test_a_missing_entry(store: ArtifactStore) -> None:
    with pytest.raises(ArtifactError, match="not in the artifact store"):
        store.read("sha256:" + "0" * 64)


def test_a_tampered_file_is_refused(store: ArtifactStore) -> None:
    ref = store.put(b"good")
    path = store.root / ref.removeprefix("sha256:")
    os.chmod(path, 0o644)
    path.write_bytes(b"evil")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.read(ref)
    assert ref not in store
    assert store.put(b"good") == ref and store.read(ref) == b"good"  # put repairs it


def test_a_symlink_out_of_the_store_is_refused(store: ArtifactStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(CHILD, encoding="utf-8")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()  # even with the right digest
    store.root.mkdir(parents=True)
    (store.root / digest).symlink_to(secret)
    with pytest.raises(ArtifactError, match="symbolic link"):
        store.read(f"sha256:{digest}")
    with pytest.raises(StrategyCompileError, match="symbolic link") as info:
        compile_strategy(
            PARENT.replace("REF", f"sha256:{digest}"), artifacts=StoredArtifacts(store)
        )
    assert info.value.context["node"] == "sub"


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_does_not_block(store: ArtifactStore) -> None:
    store.root.mkdir(parents=True)
    os.mkfifo(store.root / ("f" * 64))
    with pytest.raises(ArtifactError, match="not a regular file"):
        store.read("sha256:" + "f" * 64)


# strategies compiled against the store ----------------------------------------------------------


@pytest.mark.parametrize("ref", ["/etc/passwd", "../x.yaml", "child.yaml"])
def test_call_references_outside_the_store_are_refused(
    store: ArtifactStore, tmp_path: Path, ref: str
) -> None:
    (tmp_path / "x.yaml").write_text(CHILD, encoding="utf-8")
    store.root.mkdir(parents=True)
    (store.root / "child.yaml").write_text(CHILD, encoding="utf-8")  # refused even in the store
    with pytest.raises(StrategyCompileError, match="refused") as info:
        compile_strategy(PARENT.replace("REF", ref), artifacts=StoredArtifacts(store))
    assert info.value.context["node"] == "sub" and info.value.context["field"] == "strategy"
    assert f"sub-strategy {ref!r} refused" in info.value.message


def test_a_sha256_sub_strategy_works(store: ArtifactStore) -> None:
    ref = store.put(CHILD.encode())
    strategy = compile_strategy(PARENT.replace("REF", ref), artifacts=StoredArtifacts(store))
    assert strategy.evaluate({"salary": 500.0}).outputs["grade"] == "C"
    assert strategy.evaluate({"salary": 5000.0}).outputs["grade"] == "A"


def test_a_sub_strategy_resolves_its_own_references_in_the_store(store: ArtifactStore) -> None:
    middle = textwrap.dedent(f"""\
        id: middle
        inputs:
          income: {{type: number, required: true}}
        outputs: [tier]
        nodes:
          - id: again
            type: call
            strategy: {store.put(CHILD.encode())}
            outputs: {{tier: tier}}
        """)
    top = compile_strategy(
        PARENT.replace("REF", store.put(middle.encode())), artifacts=StoredArtifacts(store)
    )
    assert top.evaluate({"salary": 10.0}).outputs["grade"] == "C"


def test_a_tampered_sub_strategy_is_refused(store: ArtifactStore) -> None:
    ref = store.put(CHILD.encode())
    path = store.root / ref.removeprefix("sha256:")
    os.chmod(path, 0o644)
    path.write_text(CHILD.replace("tier: C", "tier: A"), encoding="utf-8")
    with pytest.raises(StrategyCompileError, match="corrupt") as info:
        compile_strategy(PARENT.replace("REF", ref), artifacts=StoredArtifacts(store))
    assert info.value.context["node"] == "sub"


@pytest.mark.parametrize("ref", ["/etc/passwd", "../model.txt"])
def test_model_artifacts_outside_the_store_are_refused(store: ArtifactStore, ref: str) -> None:
    with pytest.raises(StrategyCompileError, match=f"model artifact {ref!r} refused") as info:
        compile_strategy(MODEL.replace("REF", ref), artifacts=StoredArtifacts(store))
    assert info.value.context["node"] == "pd" and info.value.context["field"] == "artifact"


def test_a_sha256_model_artifact_works(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[bytes] = []

    def load(path: Path) -> FakeModel:
        loaded.append(path.read_bytes())
        return FakeModel([1.0], feature_names=["f_income"])

    monkeypatch.setitem(MODEL_FORMATS, "onnx", load)
    ref = store.put(b"onnx model bytes")
    strategy = compile_strategy(MODEL.replace("REF", ref), artifacts=StoredArtifacts(store))
    assert loaded == [b"onnx model bytes"]
    assert strategy.evaluate({"income": 0.0}).outputs["probability"] == 0.5


# strategies stored by content (serving.strategies reads, the repository keeps) ---------------


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.migrate()
    return db


def _publish(session: Session, text: str, artifacts: StoredArtifacts | None = None) -> None:
    row = strategies.add_draft(session, text)
    strategies.transition(session, row.strategy_id, row.version, "validate", artifacts)
    strategies.transition(session, row.strategy_id, row.version, "publish")


def test_an_uploaded_file_name_is_text(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "loan.yaml"
    path.write_text(CHILD, encoding="utf-8")

    def no_reading(*args: object, **kwargs: object) -> str:
        raise AssertionError("a file was read")

    monkeypatch.setattr(Path, "read_text", no_reading)
    with database.session() as session:
        with pytest.raises(StrategyLoadError, match="must be a mapping"):
            strategies.add_draft(session, str(path))
        assert StrategyRepo(session).versions() == []


def test_editing_a_file_after_publishing_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "child.yaml"
    path.write_text(CHILD, encoding="utf-8")
    with database.session() as session:
        with pytest.raises(StrategyLoadError):
            strategies.add_draft(session, str(path))  # a file name is not a document
        _publish(session, path.read_text(encoding="utf-8"))
        session.commit()
    path.write_text(CHILD.replace("tier: C", "tier: Z"), encoding="utf-8")
    with database.session() as session:
        row = StrategyRepo(session).get("child", "1")
        assert row.document == CHILD
        assert row.digest == hashlib.sha256(CHILD.encode()).hexdigest()
        stored = row.document
    assert compile_strategy(stored).evaluate({"income": 10.0}).outputs["tier"] == "C"


def test_a_bomb_upload_is_refused(database: Database) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    with database.session() as session, pytest.raises(StrategyLoadError, match="aliases"):
        strategies.add_draft(session, bomb)


def test_validation_needs_the_store_for_references(
    database: Database, store: ArtifactStore
) -> None:
    text = PARENT.replace("REF", store.put(CHILD.encode()))
    with database.session() as session:
        row = strategies.add_draft(session, text)
        with pytest.raises(StrategyCompileError, match="refused"):
            strategies.transition(session, row.strategy_id, row.version, "validate")  # no store
        _publish(session, text, artifacts=StoredArtifacts(store))
        assert StrategyRepo(session).get("parent", "1").status == "published"


def test_json_uploads_keep_their_format(database: Database) -> None:
    data = yaml.safe_load(CHILD)
    with database.session() as session:
        assert strategies.add_draft(session, json.dumps(data)).format == "json"
        data["id"] = "flow"
        flow = "{id: flow, " + json.dumps(data)[1:]  # a YAML flow mapping, not JSON
        assert strategies.add_draft(session, flow).format == "yaml"
