"""Scorecard: scaling, reasons, exports that score exactly like Python (engine, SQL, PMML)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone

from ruleplus.decision import compile_strategy, load_strategy
from ruleplus.errors import NotFittedError
from ruleplus.modeling import (
    FeatureSelector,
    Scorecard,
    WOETransformer,
    load_artifact,
    save_artifact,
)
from ruleplus.modeling.export import field_name, field_names, to_yaml


@pytest.fixture(scope="module")
def card(features: pl.DataFrame, target: pl.Series) -> Scorecard:
    data = features.with_columns(
        pl.when(pl.col("inquiries6m") > 8)
        .then(-9)
        .otherwise(pl.col("inquiries6m"))
        .alias("inquiries6m"),
        pl.col("residentialStatus").alias("home-status"),
        pl.col("creditScore").alias("credit-score"),
    ).drop("residentialStatus", "creditScore")
    binner = WOETransformer(special_codes={"inquiries6m": [-9, -8]}, min_bin_share=0.03)
    return Scorecard(binner=binner, selector="default", check_signs=True).fit(data, target)


@pytest.fixture(scope="module")
def data(features: pl.DataFrame) -> pl.DataFrame:
    rows = features.with_columns(
        pl.when(pl.col("inquiries6m") > 8)
        .then(-9)
        .otherwise(pl.col("inquiries6m"))
        .alias("inquiries6m"),
        pl.col("residentialStatus").alias("home-status"),
        pl.col("creditScore").alias("credit-score"),
    ).drop("residentialStatus", "creditScore")
    # unseen category, a missing categorical and missing numbers in the scored rows
    return rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(pl.lit("moon"))
        .otherwise(pl.col("employmentType"))
        .alias("employmentType"),
        pl.when(pl.int_range(pl.len()) % 89 == 0)
        .then(None)
        .otherwise(pl.col("credit-score"))
        .alias("credit-score"),
    )


def test_scaling_pdo_and_probability(card: Scorecard, data: pl.DataFrame) -> None:
    score = card.predict_score(data)
    proba = card.predict_proba(data)[:, 1]
    assert card.score_to_proba(score) == pytest.approx(proba, abs=1e-12)
    # PDO: 20 more points halve the odds of bad
    odds = proba / (1 - proba)
    back = card.score_to_proba(score + card.pdo)
    assert (back / (1 - back)) == pytest.approx(odds / 2, rel=1e-9)
    assert card.offset_ == pytest.approx(600 - 20 / math.log(2) * math.log(50))
    assert (card.coef_ < 0).all()
    assert set(card.features_) <= set(card.woe_.features_)


def test_points_table_and_reasons(card: Scorecard, data: pl.DataFrame) -> None:
    table = card.table()
    assert set(table["characteristic"]) == set(card.features_)
    pts = card.points(data)
    total = card.base_points_ + pts.sum(axis=1).to_numpy()
    assert card.predict_score(data) == pytest.approx(total, abs=1e-9)
    reasons = card.reason_codes(data, top=3)
    assert all(len(r) <= 3 for r in reasons)
    best = card.max_points()
    row = pts.iloc[0]
    lost = sorted(
        ((best[c] - row[c], c) for c in card.features_ if best[c] - row[c] > 0), key=lambda t: -t[0]
    )
    assert reasons[0] == [c for _, c in lost[:3]]


def test_engine_scores_exactly_like_python(card: Scorecard, data: pl.DataFrame) -> None:
    doc = card.to_strategy(strategy_id="exported")
    strategy = compile_strategy(to_yaml(doc), name="exported.yaml")
    names = field_names(list(data.columns))
    renamed = data.rename({k: v for k, v in names.items() if k in data.columns})
    python = card.predict_score(data)
    frame = strategy.evaluate_frame(renamed, reasons=True)
    assert frame["_error"].null_count() == len(frame)
    assert np.abs(frame["score"].to_numpy() - python).max() < 1e-9
    assert frame["probability"].to_numpy() == pytest.approx(
        card.predict_proba(data)[:, 1], abs=1e-9
    )
    codes = {f"RC{i + 1:02d}": f for i, f in enumerate(card.features_)}
    expected = card.reason_codes(data)
    for i, record in enumerate(renamed.head(200).to_dicts()):
        decision = strategy.evaluate(record)
        assert abs(decision.outputs["score"] - python[i]) < 1e-9
        assert [codes[r.code] for r in decision.reasons] == expected[i]
    assert "credit_score" in doc["inputs"]
    assert "credit-score -> credit_score" in doc["description"]


def test_exported_yaml_file_validates_and_batches(card: Scorecard, tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(to_yaml(card.to_strategy()), encoding="utf-8")
    strategy = load_strategy(path)
    assert strategy.outputs == ["score", "probability"]
    node = card.to_node()
    assert node["type"] == "scorecard"
    inquiries = next(c for c in node["characteristics"] if c["name"] == "inquiries6m")
    assert [s["value"] for s in inquiries["special"]] == [-9, -8]


def test_sql_scores_exactly_like_python(card: Scorecard, data: pl.DataFrame) -> None:
    sql = card.to_sql(table="apps")
    con = sqlite3.connect(":memory:")
    frame = data.to_pandas()
    frame.to_sql("apps", con, index=False)
    got = pd.read_sql_query(sql, con)["score"].to_numpy()
    assert np.abs(got - card.predict_score(data)).max() < 1e-9


def test_pmml_structure(card: Scorecard) -> None:
    text = card.to_pmml()
    root = ET.fromstring(text.encode("utf-8"))
    ns = {"p": "http://www.dmg.org/PMML-4_4"}
    assert root.get("version") == "4.4"
    model = root.find("p:Scorecard", ns)
    assert model is not None and model.get("useReasonCodes") == "true"
    assert float(model.get("initialScore") or "nan") == pytest.approx(card.base_points_)
    chars = model.findall("p:Characteristics/p:Characteristic", ns)
    assert len(chars) == len(card.features_)
    for char, feature in zip(chars, card.features_, strict=True):
        attrs = char.findall("p:Attribute", ns)
        fb = card.woe_.binnings_[feature]
        assert len(attrs) == len(fb.labels()) + 1  # + the catch-all
        scores = [float(a.get("partialScore") or "nan") for a in attrs[:-1]]
        order = [fb.missing_index, *range(fb.n_regular, fb.missing_index), *range(fb.n_regular)]
        assert scores == pytest.approx(card.points_by_bin_[feature][order].tolist())
        assert char.get("reasonCode", "").startswith("RC")
    fields = [f.get("name") for f in root.findall("p:DataDictionary/p:DataField", ns)]
    assert "credit-score" in fields


def test_artifact_round_trip(card: Scorecard, data: pl.DataFrame, tmp_path: Path) -> None:
    save_artifact(card, tmp_path / "art", {"note": "test"})
    loaded, meta = load_artifact(tmp_path / "art")
    assert isinstance(loaded, Scorecard)
    assert meta["kind"] == "scorecard" and meta["note"] == "test"
    assert "numpy" in meta["libraries"]
    assert loaded.predict_score(data) == pytest.approx(card.predict_score(data), abs=1e-12)
    assert loaded.predict_proba(data) == pytest.approx(card.predict_proba(data), abs=1e-12)
    assert (tmp_path / "art" / "binning" / "home_status.csv").is_file()


def test_rounded_points_engine_parity(features: pl.DataFrame, target: pl.Series) -> None:
    card = Scorecard(round_points=True, selector=FeatureSelector(min_iv=0.05)).fit(features, target)
    assert all(float(p).is_integer() for v in card.points_by_bin_.values() for p in v)
    strategy = compile_strategy(card.to_strategy())
    out = strategy.evaluate_frame(features.rename(field_names(list(features.columns))))
    assert out["score"].to_numpy() == pytest.approx(card.predict_score(features), abs=1e-9)


def test_estimator_contract(features: pl.DataFrame, target: pl.Series) -> None:
    card = Scorecard(pdo=40, selector=None)
    assert clone(card).get_params()["pdo"] == 40
    with pytest.raises(NotFittedError):
        card.predict_proba(features)
    assert card.fit(features.to_pandas(), target.to_numpy()) is card
    assert card.predict(features).shape == (len(features),)
    assert (
        field_name("a-b c") == "a_b_c" and field_name("in") == "in_" and field_name("1x") == "f_1x"
    )


def test_selector_steps(features: pl.DataFrame, target: pl.Series) -> None:
    woe = WOETransformer().fit(features, target).transform(features)
    woe["copy"] = woe["creditScore"]
    sel = FeatureSelector(min_iv=0.02, max_corr=0.9, max_vif=10, stepwise="both").fit(woe, target)
    report = sel.report_.set_index("feature")
    assert report.loc["copy", "dropped_by"].startswith("corr")
    assert "creditScore" in sel.selected_
    assert list(sel.transform(woe).columns) == sel.selected_
    low = report[report["iv"] < 0.02].index
    assert all(report.loc[f, "dropped_by"].startswith("iv") for f in low)
