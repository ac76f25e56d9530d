# ruff: noqa: N803, N806  (scikit-learn naming: X)
"""The PMML export scored by an independent PMML engine (pypmml: PMML4S, in Scala, on a JVM):
the same score, probability and reason codes as Python on every row, bin boundaries, special
codes, missing values and unseen categories included."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ruleplus.modeling import Scorecard, WOETransformer

pypmml = pytest.importorskip("pypmml", reason="pypmml (dev extra) scores PMML on a JVM")

TOLERANCE = 1e-9
N = 3000


def _training() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(2024)
    income = rng.lognormal(8.0, 0.5, N).round(2)
    income[rng.random(N) < 0.05] = np.nan  # missing
    income[rng.random(N) < 0.03] = -7.0  # special codes
    income[rng.random(N) < 0.02] = -8.0
    age = rng.integers(18, 75, N).astype(float)
    age[rng.random(N) < 0.03] = np.nan
    home = rng.choice(["own", "rent", "mortgage", "with parents", 'say "hi"'], N)
    home_values = home.astype(object)
    home_values[rng.random(N) < 0.04] = None
    home_values[rng.random(N) < 0.03] = "unknown"  # a special code of a text column
    region = rng.integers(1, 7, N)  # numbers binned as categories
    phone = rng.random(N) < 0.7
    risk = (
        -0.8 * (np.nan_to_num(income, nan=3000.0) > 3000)
        + 0.02 * (45 - np.nan_to_num(age, nan=45.0))
        + 0.5 * (home == "rent")
        + 0.15 * region
        - 0.4 * phone
    )
    bad = rng.random(N) < 1 / (1 + np.exp(-(risk - 1.5)))
    frame = pd.DataFrame(
        {
            "income": income,
            "age": age,
            "home-status": home_values,
            "region": region,
            "has_phone": phone,
        }
    )
    return frame, bad.astype(int)


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame]:
    X, y = _training()
    binner = WOETransformer(
        categorical=["region"],
        special_codes={"income": [-7, -8, -9], "home-status": ["unknown"]},
        min_bin_share=0.03,
    )
    card = Scorecard(binner=binner).fit(X, y)
    return card, X


def _scored_rows(card: Scorecard, X: pd.DataFrame) -> pd.DataFrame:
    """The training rows, then rows probing every bin boundary and the odd values."""
    probes: list[dict[str, Any]] = []
    typical = X.iloc[0].to_dict()
    for feature in ("income", "age"):
        fb = card.woe_.binnings_[feature]
        assert fb.splits, f"{feature} has no cut point to probe"
        for cut in fb.splits:
            for value in (np.nextafter(cut, -np.inf), cut, np.nextafter(cut, np.inf)):
                probes.append({**typical, feature: float(value)})
    probes += [
        {**typical, "income": -9.0},  # a special code never seen in training
        {**typical, "income": np.nan, "age": np.nan},
        {**typical, "income": -1e300, "age": 1e300},
        {**typical, "home-status": "castle"},  # unseen category
        {**typical, "home-status": None},
        {**typical, "home-status": "unknown"},
        {**typical, "region": 9},  # unseen numeric category
    ]
    rows = pd.concat([X, pd.DataFrame(probes)], ignore_index=True)
    return rows.astype({"region": "int64", "has_phone": "bool"})


def _plain(value: Any) -> Any:
    """A cell as JSON: NaN and None null, numpy scalars as Python ones (floats exact)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _pmml_scores(pmml: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Score ``rows`` with pypmml. The rows go as JSON written here, every float exactly:
    ``Model.predict(DataFrame)`` writes them with ``DataFrame.to_json``, which keeps 10
    significant digits, so that a value just below a cut point would arrive on it."""
    model = pypmml.Model.fromString(pmml)
    data = [[_plain(v) for v in row] for row in rows.itertuples(index=False)]
    text = model.predict(json.dumps({"columns": list(rows.columns), "data": data}))
    result = json.loads(text)
    return pd.DataFrame(result["data"], columns=result["columns"])


def test_the_scorecard_uses_every_kind_of_bin(fitted: tuple[Scorecard, pd.DataFrame]) -> None:
    card, _ = fitted
    assert card.features_ == ["income", "age", "home-status", "region", "has_phone"]
    kinds = {f: card.woe_.binnings_[f].dtype for f in card.features_}
    assert kinds == {
        "income": "numeric",
        "age": "numeric",
        "home-status": "categorical",
        "region": "categorical",
        "has_phone": "categorical",
    }
    assert card.woe_.binnings_["income"].special_codes == [-7, -8, -9]


def test_pmml_engine_scores_like_python(fitted: tuple[Scorecard, pd.DataFrame]) -> None:
    card, X = fitted
    rows = _scored_rows(card, X)
    out = _pmml_scores(card.to_pmml(), rows)
    assert len(out) == len(rows)

    score = card.predict_score(rows)
    diff = np.abs(out["Final Score"].to_numpy(dtype=float) - score)
    assert diff.max() <= TOLERANCE, rows.iloc[int(diff.argmax())].to_dict()

    proba = card.predict_proba(rows)[:, 1]
    diff = np.abs(out["Probability of bad"].to_numpy(dtype=float) - proba)
    assert diff.max() <= TOLERANCE, rows.iloc[int(diff.argmax())].to_dict()

    codes = {f"RC{i + 1:02d}": name for i, name in enumerate(card.features_)}
    expected = card.reason_codes(rows)
    columns = [f"Reason Code {k}" for k in range(1, card.reasons_top + 1)]
    for i, reasons in enumerate(expected):
        got = [codes[c] for c in out.loc[i, columns] if isinstance(c, str) and c]
        assert got[: len(reasons)] == reasons, rows.iloc[i].to_dict()
