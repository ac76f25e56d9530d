"""The ``model`` node: LightGBM / ONNX / fake models, row and vector back ends agree."""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from ruleplus.decision import compile_strategy
from ruleplus.decision.nodes import NODE_TYPES
from ruleplus.decision.nodes.ml_model import (
    MODEL_FORMATS,
    FakeModel,
    LightGBMModel,
    OnnxModel,
    check_model,
)
from ruleplus.errors import StrategyCompileError

FEATURES = ["f_income", "f_dti", "f_score"]


@pytest.fixture(autouse=True)
def _register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NODE_TYPES, "model", check_model)


def _training_data(n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    income = rng.uniform(1000, 9000, n)
    dti = rng.uniform(0.0, 0.9, n)
    score = rng.integers(300, 900, n).astype(float)
    logit = -2.0 + 4.0 * dti - (score - 600) / 100 - (income - 5000) / 4000
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = np.column_stack([income, dti, score])
    x[rng.uniform(size=n) < 0.05, 1] = np.nan  # some missing values seen in training
    return x, y


@pytest.fixture(scope="module")
def lgb_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lightgbm = pytest.importorskip("lightgbm")
    x, y = _training_data()
    params = {
        "objective": "binary",
        "verbose": -1,
        "num_threads": 1,
        "deterministic": True,
        "seed": 1,
        "num_leaves": 7,
        "min_data_in_leaf": 10,
    }
    data = lightgbm.Dataset(x, y, feature_name=FEATURES, params=params)
    booster = lightgbm.train(params, data, num_boost_round=10)
    path = tmp_path_factory.mktemp("lgb") / "pd.txt"
    booster.save_model(str(path))
    return path


def _strategy(
    tmp_path: Path, artifact: str, fmt: str = "lightgbm", features: dict[str, str] | None = None
) -> Path:
    features = features or {"f_income": "income", "f_dti": "dti", "f_score": "score"}
    lines = "\n".join(f"      {k}: {v}" for k, v in features.items())
    text = (
        textwrap.dedent("""\
        id: scored
        version: "3"
        inputs:
          income: {type: number, min: 1}
          debt: {type: number, min: 0}
          score: {type: integer}
        outputs: [pd, decision]
        reasons:
          PD: {en: probability of default too high}
          LOW: {en: score too low}
        nodes:
          - id: derive
            type: expression
            assign:
              dti: debt / income
          - id: gate
            type: switch
            cases:
              - {when: score < 350, goto: reject}
            default: pd
          - id: reject
            type: rule
            when: "true"
            then: {decision: decline}
            reason: LOW
            next: end
          - id: pd
            type: model
            format: FORMAT
            artifact: ARTIFACT
            features:
        FEATURES
            output: pd
          - id: policy
            type: ruleset
            mode: first
            rules:
              - {when: pd > 0.5, then: {decision: decline}, reason: PD}
              - {when: "true", then: {decision: approve}}
        """)
        .replace("FORMAT", fmt)
        .replace("ARTIFACT", artifact)
        .replace("FEATURES", lines)
    )
    path = tmp_path / "scored.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _records(n: int = 120) -> list[dict[str, Any]]:
    rng = np.random.default_rng(3)
    out: list[dict[str, Any]] = []
    for i in range(n):
        rec: dict[str, Any] = {
            "income": float(rng.uniform(1000, 9000)),
            "debt": float(rng.uniform(0, 4000)),
            "score": int(rng.integers(300, 900)),
        }
        if i % 7 == 0:
            rec["income"] = None  # -> dti and f_income missing
        if i % 11 == 0:
            rec["score"] = None
        if i % 13 == 0:
            rec["debt"] = None
        out.append(rec)
    return out


def _expected_matrix(records: list[dict[str, Any]]) -> np.ndarray:
    rows = []
    for r in records:
        income, debt, score = r["income"], r["debt"], r["score"]
        dti = debt / income if income is not None and debt is not None else None
        rows.append([math.nan if v is None else float(v) for v in (income, dti, score)])
    return np.array(rows, dtype=np.float64)


def _reaches_model(r: dict[str, Any]) -> bool:
    return r["score"] is None or r["score"] >= 350


def _check_row_vector(
    strategy: Any, records: list[dict[str, Any]], expected: np.ndarray, tolerance: float = 1e-9
) -> None:
    """Row == vector to 1e-9; both == ``expected`` (the model called directly) to ``tolerance``."""
    schema = {"income": pl.Float64, "debt": pl.Float64, "score": pl.Int64}
    frame = strategy.evaluate_frame(pl.DataFrame(records, schema=schema), reasons=True)
    assert frame["_error"].null_count() == len(records)
    for i, rec in enumerate(records):
        decision = strategy.evaluate(rec)
        vector_pd = frame["pd"][i]
        if _reaches_model(rec):
            row_pd = decision.outputs["pd"]
            assert isinstance(row_pd, float)
            assert row_pd == pytest.approx(expected[i], rel=0, abs=tolerance)
            assert vector_pd == pytest.approx(row_pd, rel=0, abs=1e-9)
            want = "decline" if row_pd > 0.5 else "approve"
            assert decision.decision == want
            assert [r.code for r in decision.reasons] == (["PD"] if want == "decline" else [])
        else:
            assert "pd" not in decision.outputs
            assert vector_pd is None
            assert decision.decision == "decline"
        assert frame["decision"][i] == decision.decision
        assert frame["reasons"][i].to_list() == [r.code for r in decision.reasons]


def test_lightgbm_row_vector_and_booster_agree(tmp_path: Path, lgb_model: Path) -> None:
    import lightgbm

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "pd.txt").write_bytes(lgb_model.read_bytes())
    strategy = compile_strategy(_strategy(tmp_path, "models/pd.txt"))
    records = _records()
    booster = lightgbm.Booster(model_file=str(lgb_model))
    expected = booster.predict(_expected_matrix(records))
    assert len(set(np.round(expected, 6))) > 10  # the model is not constant
    _check_row_vector(strategy, records, expected)


def test_lightgbm_single_row_path_matches_predict(lgb_model: Path) -> None:
    model = LightGBMModel.load(lgb_model)
    matrix = _expected_matrix(_records(40))
    batch = model.predict(matrix)
    for row, want in zip(matrix.tolist(), batch, strict=True):
        row_in = [None if math.isnan(v) else v for v in row]
        assert model.predict_one(row_in) == pytest.approx(want, rel=0, abs=1e-12)


def test_model_trace_and_types(tmp_path: Path, lgb_model: Path) -> None:
    strategy = compile_strategy(_strategy(tmp_path, str(lgb_model)))  # an absolute path works too
    decision = strategy.evaluate({"income": 4000.0, "debt": 500, "score": 700}, trace=True)
    assert decision.trace is not None
    node = next(t for t in decision.trace if t.node == "pd")
    assert node.type == "model"
    assert node.inputs == {"income": 4000.0, "dti": 0.125, "score": 700}
    assert node.outputs == {"pd": decision.outputs["pd"]}
    frame = pl.DataFrame({"income": [4000.0], "debt": [500.0], "score": [700]})
    assert strategy.evaluate_frame(frame).schema["pd"] == pl.Float64


def test_feature_names_must_match_in_order(tmp_path: Path, lgb_model: Path) -> None:
    path = _strategy(
        tmp_path,
        str(lgb_model),
        features={"f_dti": "dti", "f_income": "income", "f_score": "score"},
    )
    with pytest.raises(StrategyCompileError) as info:
        compile_strategy(path)
    message = str(info.value)
    assert "['f_income', 'f_dti', 'f_score']" in message
    assert "['f_dti', 'f_income', 'f_score']" in message
    assert info.value.context["node"] == "pd"


def test_missing_artifact_is_named(tmp_path: Path) -> None:
    missing = r"model artifact not found: .*nowhere\.txt"
    with pytest.raises(StrategyCompileError, match=missing) as info:
        compile_strategy(_strategy(tmp_path, "nowhere.txt"))
    assert info.value.context["line"] is not None


def test_unreadable_artifact(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(StrategyCompileError, match="cannot load the lightgbm model"):
        compile_strategy(_strategy(tmp_path, "bad.txt"))


def test_features_must_be_numeric(tmp_path: Path, lgb_model: Path) -> None:
    path = _strategy(
        tmp_path,
        str(lgb_model),
        features={"f_income": "income", "f_dti": "score > 5", "f_score": "score"},
    )
    with pytest.raises(StrategyCompileError, match="feature 'f_dti' must be a number"):
        compile_strategy(path)


def test_xgboost_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)  # import fails as if not installed
    (tmp_path / "m.json").write_text("{}", encoding="utf-8")
    with pytest.raises(StrategyCompileError, match="pip install xgboost"):
        compile_strategy(_strategy(tmp_path, "m.json", fmt="xgboost"))


def test_fake_model_through_the_format_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeModel([0.0002, -1.5, -0.004], intercept=1.0, feature_names=FEATURES)
    monkeypatch.setitem(MODEL_FORMATS, "onnx", lambda path: fake)
    (tmp_path / "fake.onnx").write_bytes(b"")
    strategy = compile_strategy(_strategy(tmp_path, "fake.onnx", fmt="onnx"))
    records = _records(60)
    matrix = _expected_matrix(records)
    expected = 1 / (1 + np.exp(-(np.nan_to_num(matrix) @ fake.coefficients + 1.0)))
    _check_row_vector(strategy, records, expected)


def test_fake_model_count_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODEL_FORMATS, "onnx", lambda path: FakeModel([1.0, 2.0]))
    (tmp_path / "fake.onnx").write_bytes(b"")
    with pytest.raises(StrategyCompileError, match="expects 2 features, the node gives 3"):
        compile_strategy(_strategy(tmp_path, "fake.onnx", fmt="onnx"))


# ONNX --------------------------------------------------------------------------------------------


def _complete_records(n: int = 60) -> list[dict[str, Any]]:
    """Records without nulls (a logistic regression in ONNX turns NaN into NaN)."""
    defaults = {"income": 2500.0, "debt": 300.0, "score": 610}
    return [{k: defaults[k] if v is None else v for k, v in r.items()} for r in _records(n)]


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "tensor"])
def test_sklearn_onnx_logistic_regression(tmp_path: Path, zipmap: bool) -> None:
    skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    x, y = _training_data()
    x = np.nan_to_num(x, nan=0.3)
    scale = np.array([1 / 4000, 1.0, 1 / 300])
    clf = LogisticRegression(max_iter=500).fit(x * scale, y)
    # bake the scaling into the coefficients so the ONNX model reads raw features
    clf.coef_ = clf.coef_ * scale
    options = {id(clf): {"zipmap": zipmap}}
    onx = skl2onnx.convert_sklearn(
        clf, initial_types=[("X", FloatTensorType([None, 3]))], options=options, target_opset=15
    )
    (tmp_path / "lr.onnx").write_bytes(onx.SerializeToString())
    strategy = compile_strategy(_strategy(tmp_path, "lr.onnx", fmt="sklearn-onnx"))
    records = _complete_records()
    matrix = _expected_matrix(records)
    expected = clf.predict_proba(matrix.astype(np.float32).astype(np.float64))[:, 1]
    _check_row_vector(strategy, records, expected, tolerance=1e-6)  # float32 inside the model
    model = OnnxModel.load(tmp_path / "lr.onnx")
    assert model.output_name == ("output_probability" if zipmap else "probabilities")


def _handmade_onnx(path: Path, weights: list[float], bias: float, flat: bool) -> None:
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    from onnx import TensorProto, helper

    w = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], weights)
    b = helper.make_tensor("B", TensorProto.FLOAT, [1], [bias])
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["z0"]),
        helper.make_node("Add", ["z0", "B"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p2" if flat else "score"]),
    ]
    out_shape: list[Any] = [None, 1]
    if flat:
        shape = helper.make_tensor("S", TensorProto.INT64, [1], [-1])
        nodes.append(helper.make_node("Reshape", ["p2", "S"], ["score"]))
        out_shape = [None]
    graph = helper.make_graph(
        nodes,
        "score",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, out_shape)],
        initializer=[w, b] + ([shape] if flat else []),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize("flat", [False, True], ids=["n_by_1", "n"])
def test_plain_onnx_score_output(tmp_path: Path, flat: bool) -> None:
    weights, bias = [0.0002, -1.5, -0.004], 1.0
    _handmade_onnx(tmp_path / "score.onnx", weights, bias, flat)
    strategy = compile_strategy(_strategy(tmp_path, "score.onnx", fmt="onnx"))
    records = _complete_records()
    matrix = _expected_matrix(records).astype(np.float32).astype(np.float64)
    z = matrix @ np.array(weights, dtype=np.float32).astype(np.float64) + bias
    expected = 1 / (1 + np.exp(-z))
    frame = strategy.evaluate_frame(pl.DataFrame(records))
    for i, rec in enumerate(records):
        if not _reaches_model(rec):
            continue
        row_pd = strategy.evaluate(rec).outputs["pd"]
        assert row_pd == pytest.approx(expected[i], abs=1e-6)  # float32 inside the model
        assert frame["pd"][i] == pytest.approx(row_pd, rel=0, abs=1e-9)


def test_onnx_wrong_width_is_a_compile_error(tmp_path: Path) -> None:
    _handmade_onnx(tmp_path / "score.onnx", [1.0, 1.0, 1.0], 0.0, flat=False)
    path = _strategy(tmp_path, "score.onnx", fmt="onnx", features={"a": "income", "b": "score"})
    with pytest.raises(StrategyCompileError, match="expects 3 features, the node gives 2"):
        compile_strategy(path)
