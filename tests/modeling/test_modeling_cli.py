"""``ruleplus model fit / evaluate / report`` on small synthetic data, and bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from ruleplus.cli.model import app
from ruleplus.datasets import write_table
from ruleplus.decision import load_strategy

runner = CliRunner()
LEAK = ["--exclude", "defaultProb"]
SELECT = ["--select", *LEAK]


@pytest.fixture(scope="module")
def table(applications: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "apps.parquet"
    write_table(applications, path)
    return path


def _json(output: str) -> dict[str, object]:
    data = json.loads(output)
    assert isinstance(data, dict)
    return data


def test_fit_evaluate_report_scorecard(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "card"
    result = runner.invoke(
        app,
        ["fit", str(table), "--target", "defaulted", "--out", str(out), "--seed", "3", *SELECT],
    )
    assert result.exit_code == 0, result.output
    assert "AUC" in result.output and "left out" in result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["split"]["method"] == "stratified random" and meta["split"]["seed"] == 3
    assert meta["metrics"]["test"]["auc"] > 0.7
    assert len(meta["data"]["sha256"]) == 64
    for name in ("model.json", "strategy.yaml", "scorecard.sql", "scorecard.pmml", "points.csv"):
        assert (out / name).is_file()
    assert any((out / "binning").glob("*.csv"))
    load_strategy(out / "strategy.yaml")
    result = runner.invoke(
        app, ["evaluate", str(out), str(table), "--target", "defaulted", "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = _json(result.output)
    assert {"auc", "ks", "gini", "n"} <= set(metrics) and metrics["n"] == 3000
    html = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", str(out), str(table), "--target", "defaulted", "-o", str(html)]
    )
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert text.count("<svg") >= 6 and "Gains table" in text and "PSI" in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_fit_gbm_out_of_time(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "gbm"
    result = runner.invoke(
        app,
        [
            "fit",
            str(table),
            "--target",
            "defaulted",
            "--out",
            str(out),
            "--kind",
            "gbm",
            "--time-col",
            "applicationTime",
            "--oot-from",
            "2024-01-01",
            "--json",
            *LEAK,
        ],
    )
    assert result.exit_code == 0, result.output
    meta = _json(result.output)
    split = meta["split"]
    assert isinstance(split, dict) and split["method"] == "out-of-time"
    assert (out / "model.txt").is_file()
    result = runner.invoke(
        app,
        ["report", str(out), str(table), "--target", "defaulted", "-o", str(tmp_path / "gbm.html")],
    )
    assert result.exit_code == 0, result.output
    assert "Feature importance" in (tmp_path / "gbm.html").read_text()


def _csv(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_csv(path)
    return path


BAD_CASES = {
    "non-binary": ([0, 1, 2] * 40, "is not binary"),
    "single-class": ([0] * 120, "single class"),
    "missing": ([0, 1, None] * 40, "missing value"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_targets_are_named(case: str, tmp_path: Path) -> None:
    values, message = BAD_CASES[case]
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=120), "bad_flag": values})
    path = _csv(tmp_path / "d.csv", frame)
    result = runner.invoke(
        app, ["fit", str(path), "--target", "bad_flag", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert message in result.output and "'bad_flag'" in result.output
    assert "Traceback" not in result.output


def test_bad_columns_are_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 300
    income = [str(v) for v in rng.integers(1000, 9000, n)]
    income[7] = "lots"
    frame = pl.DataFrame(
        {"income": income, "age": rng.integers(18, 70, n), "y": rng.integers(0, 2, n)}
    )
    path = _csv(tmp_path / "d.csv", frame)
    result = runner.invoke(
        app, ["fit", str(path), "--target", "y", "--out", str(tmp_path / "o"), "--json"]
    )
    assert result.exit_code == 2
    error = _json(result.output)["error"]
    assert isinstance(error, dict) and error["column"] == "income" and "'lots'" in error["message"]
    # constant and all-missing columns are left out, by name
    frame = pl.DataFrame(
        {
            "const": [1] * n,
            "empty": [None] * n,
            "age": rng.integers(18, 70, n),
            "y": rng.integers(0, 2, n),
        }
    )
    zipped = tmp_path / "d.csv.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("d.csv", frame.write_csv())
    result = runner.invoke(
        app, ["fit", str(zipped), "--target", "y", "--out", str(tmp_path / "o2")]
    )
    assert result.exit_code == 0, result.output
    assert "const: column 'const' is constant" in result.output
    assert "empty: column 'empty' has only missing values" in result.output
    result = runner.invoke(
        app, ["fit", str(zipped), "--target", "nope", "--out", str(tmp_path / "o3")]
    )
    assert result.exit_code == 2 and "target column 'nope' not found" in result.output
    only_bad = pl.DataFrame({"const": [1] * n, "y": rng.integers(0, 2, n)})
    path = _csv(tmp_path / "c.csv", only_bad)
    result = runner.invoke(app, ["fit", str(path), "--target", "y", "--out", str(tmp_path / "o4")])
    assert result.exit_code == 2 and "no usable feature" in result.output


def test_text_labels_need_a_bad_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["ok", "late"], 200)})
    path = _csv(tmp_path / "d.csv", frame)
    result = runner.invoke(app, ["fit", str(path), "--target", "y", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "say which one is bad" in result.output
    result = runner.invoke(
        app, ["fit", str(path), "--target", "y", "--bad", "late", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
