"""1:N gallery: encrypted persistence (SQLite, PostgreSQL when reachable), index rebuild, delete."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("cryptography")
pytest.importorskip("hnswlib")

from ruleplus.errors import IdentityError  # noqa: E402
from ruleplus.identity._index import FlatIndex, HnswIndex  # noqa: E402
from ruleplus.identity.gallery import Gallery  # noqa: E402
from ruleplus.identity.gallery_store import InMemoryGalleryStore, SqlGalleryStore  # noqa: E402
from ruleplus.identity.template_cipher import TemplateCipher, load_template_key  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KEY = bytes(range(32))


def unit(rng: Any, n: int, dim: int = 128) -> Any:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _pg_engine() -> Any:
    pytest.importorskip("psycopg")
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
    except Exception as exc:  # not reachable here
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    return engine


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryGalleryStore()
        return
    engine = (
        sa.create_engine(f"sqlite:///{tmp_path / 'g.db'}")
        if request.param == "sqlite"
        else _pg_engine()
    )
    table = f"face_templates_{uuid.uuid4().hex[:10]}"
    sql = SqlGalleryStore(engine, TemplateCipher(KEY), table_name=table)
    yield sql
    sql.drop()
    engine.dispose()


def test_identity_gallery_enroll_search_delete(store: Any) -> None:
    rng = np.random.default_rng(1)
    vecs = unit(rng, 50)
    gallery = Gallery(store, "m", 128, threshold=0.6)
    ids = [gallery.enroll("t1", f"s{i}", v) for i, v in enumerate(vecs)]
    gallery.enroll("t2", "other", vecs[0])
    probe = vecs[7] + 0.02 * rng.normal(size=128).astype(np.float32)
    hits = gallery.search("t1", probe, k=3)
    assert hits[0].subject_id == "s7" and hits[0].match and not hits[1].match
    assert gallery.search("t2", vecs[7], k=5)[0].subject_id == "other"  # tenants are apart
    # restart: a new gallery on the same store rebuilds its index from the store
    reborn = Gallery(store, "m", 128, threshold=0.6)
    assert reborn.load() == 51
    assert reborn.search("t1", probe, k=1)[0].template_id == ids[7]
    assert reborn.delete("t1", subject_id="s7") == [ids[7]]
    assert all(h.subject_id != "s7" for h in reborn.search("t1", probe, k=10))
    assert all(r.subject_id != "s7" for r in store.iter_tenant("t1", "m"))
    assert Gallery(store, "m", 128, 0.6).count("t1") == 49
    assert reborn.delete("t1", template_id=ids[8]) == [ids[8]]
    assert reborn.delete("t1", subject_id="nobody") == []
    with pytest.raises(IdentityError):
        reborn.enroll("t1", "x", np.zeros(5, np.float32))
    with pytest.raises(IdentityError):
        reborn.delete("t1")


def test_identity_templates_encrypted_at_rest(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'g.db'}")
    store = SqlGalleryStore(engine, TemplateCipher(KEY))
    vec = unit(np.random.default_rng(2), 1)[0]
    row = store.add("t", "s", "m", vec)
    with engine.connect() as conn:
        blob = conn.execute(sa.text("select template from face_templates")).scalar_one()
    assert vec.astype("<f4").tobytes()[:16] not in blob and len(blob) == 2 + 12 + 512 + 16
    # a ciphertext moved to another tenant does not decrypt
    with engine.begin() as conn:
        conn.execute(sa.text("update face_templates set tenant_id='evil'"))
    with pytest.raises(IdentityError) as info:
        list(store.iter_tenant("evil", "m"))
    assert info.value.code == "template_invalid"
    other_key = SqlGalleryStore(engine, TemplateCipher(bytes(32)), create=False)
    with pytest.raises(IdentityError):
        list(other_key.iter_tenant("evil", "m"))
    assert row.id
    engine.dispose()


def test_identity_template_key_file(tmp_path: Path) -> None:
    key = load_template_key(tmp_path, env={})
    path = tmp_path / "template.key"
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_template_key(tmp_path, env={}) == key
    assert load_template_key(tmp_path, env={"RULEPLUS_TEMPLATE_KEY": KEY.hex()}) == KEY
    from ruleplus.errors import ConfigError

    with pytest.raises(ConfigError):
        load_template_key(tmp_path, env={"RULEPLUS_TEMPLATE_KEY": "short"})


def test_identity_hnsw_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(3)
    base = unit(rng, 5000)
    hnsw, flat = HnswIndex(128, capacity=100), FlatIndex(128)
    labels = np.arange(5000)
    hnsw.add(labels, base)
    flat.add(labels, base)
    probes = base[:200] + 0.2 * unit(rng, 200)
    agree = sum(hnsw.search(p, 1)[0][0] == flat.search(p, 1)[0][0] for p in probes)
    assert agree >= 198
    hnsw.remove(5)
    flat.remove(5)
    assert hnsw.search(base[5], 1)[0][0] != 5 and flat.search(base[5], 1)[0][0] != 5
    assert len(hnsw) == len(flat) == 4999
    hnsw.add(np.array([9999]), base[5:6])  # reuses the deleted slot
    assert hnsw.search(base[5], 1)[0][0] == 9999
