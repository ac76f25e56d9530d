"""The model factory's end-to-end steps, as the ``ruleplus model`` commands run them.

``fit_artifact``: read a table (CSV, zipped CSV, Parquet, JSON lines), check the target, split
it (stratified random, the latest rows by a time column, or out-of-time from a date), fit a
scorecard or a GBM on the training part, measure both parts and write the artifact directory.
``evaluate_artifact``: load an artifact and measure it on another table. ``report_artifact``:
the same, rendered as a self-contained HTML validation report. The command module only parses
arguments and prints what these return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ruleplus.errors import DataError
from ruleplus.modeling._data import encode_target
from ruleplus.modeling.artifacts import file_sha256, load_artifact, save_artifact
from ruleplus.modeling.gbm import GBMClassifier, time_split
from ruleplus.modeling.metrics import summary_metrics
from ruleplus.modeling.monitoring import psi_against, score_distribution
from ruleplus.modeling.report import render_report
from ruleplus.modeling.scorecard import Scorecard
from ruleplus.modeling.validation import validation_data

__all__ = [
    "KINDS",
    "Dataset",
    "evaluate_artifact",
    "fit_artifact",
    "load_dataset",
    "report_artifact",
    "split_dataset",
]

KINDS = ("scorecard", "gbm")
Progress = Callable[[str], None]


@dataclass
class Dataset:
    """A table split into features and a 0/1 target.

    Attributes
    ----------
    frame : polars.DataFrame
        Feature columns (and the time column, if any).
    y : ndarray
        Target, 1 = bad.
    target : str
        Target column name.
    path : Path or None
        File read.
    """

    frame: pl.DataFrame
    y: NDArray[np.int8]
    target: str
    path: Path | None = None

    def info(self) -> dict[str, Any]:
        """File, hash and shape (for ``metadata.json``)."""
        out: dict[str, Any] = {"rows": self.frame.height, "columns": self.frame.width + 1}
        if self.path is not None:
            out["path"] = str(self.path)
            out["sha256"] = file_sha256(self.path)
        return out


def load_dataset(
    path: str | Path,
    target: str,
    *,
    bad: Any = None,
    exclude: Sequence[str] = (),
) -> Dataset:
    """Read a table and separate its target.

    Raises
    ------
    DataError
        Unreadable file, missing target or excluded column, or a bad target.
    """
    from ruleplus.datasets import read_table

    file = Path(path)
    frame = read_table(file)
    if target not in frame.columns:
        raise DataError(
            f"target column {target!r} not found; columns: {', '.join(frame.columns[:20])}",
            column=target,
            file=str(file),
        )
    for name in exclude:
        if name not in frame.columns:
            raise DataError(f"excluded column {name!r} not found", column=name, file=str(file))
    y = encode_target(frame.get_column(target), target, bad=bad)
    features = frame.drop([target, *exclude])
    return Dataset(features, y, target, file)


def _as_time(value: str, dtype: pl.DataType) -> Any:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"--oot-from {value!r} is not an ISO date (YYYY-MM-DD)") from None
    if dtype == pl.Date:
        return when.date()
    return when


def split_dataset(
    data: Dataset,
    *,
    test_size: float = 0.3,
    seed: int = 42,
    time_col: str | None = None,
    oot_from: str | None = None,
) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Mask of the test rows, and a description of the split.

    Out-of-time when ``time_col`` is given: rows from ``oot_from`` on (or, without it, the
    latest ``test_size`` share) are the test set. Otherwise a stratified random split.
    """
    n = data.frame.height
    if time_col is not None:
        if time_col not in data.frame.columns:
            raise DataError(f"time column {time_col!r} not found", column=time_col)
        times = data.frame.get_column(time_col)
        if times.dtype == pl.String:
            times = times.str.to_datetime(strict=False)
        if not times.dtype.is_temporal() and not times.dtype.is_numeric():
            raise DataError(f"time column {time_col!r} holds no dates", column=time_col)
        if times.null_count():
            raise DataError(
                f"time column {time_col!r} has {times.null_count()} missing value(s)",
                column=time_col,
            )
        if oot_from is not None:
            start = (
                _as_time(oot_from, times.dtype) if times.dtype.is_temporal() else float(oot_from)
            )
            test = (times >= start).to_numpy()
            info: dict[str, Any] = {
                "method": "out-of-time",
                "time_col": time_col,
                "oot_from": oot_from,
            }
        else:
            test = time_split(times, test_size)
            info = {"method": "latest rows by time", "time_col": time_col, "test_size": test_size}
    else:
        from sklearn.model_selection import train_test_split

        if not 0 < test_size < 1:
            raise DataError("--test-size must be between 0 and 1")
        _, test_idx = train_test_split(
            np.arange(n), test_size=test_size, stratify=data.y, random_state=seed
        )
        test = np.zeros(n, dtype=bool)
        test[test_idx] = True
        info = {"method": "stratified random", "test_size": test_size, "seed": seed}
    for name, mask in (("training", ~test), ("test", test)):
        part = data.y[mask]
        if part.size == 0:
            raise DataError(f"the {name} part of the split is empty; move the split date")
        if part.min() == part.max():
            raise DataError(f"the {name} part of the split holds a single class")
    info.update({"train_rows": int((~test).sum()), "test_rows": int(test.sum())})
    return np.asarray(test), info


def _risk(model: Scorecard | GBMClassifier, frame: pl.DataFrame) -> NDArray[np.float64]:
    return np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64)


def fit_artifact(
    data_path: str | Path,
    target: str,
    kind: str,
    out_dir: str | Path,
    *,
    time_col: str | None = None,
    oot_from: str | None = None,
    test_size: float = 0.3,
    seed: int = 42,
    exclude: Sequence[str] = (),
    bad: Any = None,
    select: bool = False,
    model: Scorecard | GBMClassifier | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit a model on a table and write its artifact directory.

    Parameters
    ----------
    data_path : path
        CSV, zipped CSV, Parquet or JSON lines.
    target : str
        Target column (two values; 1 / ``bad`` = bad).
    kind : {"scorecard", "gbm"}
        Model kind.
    out_dir : path
        Artifact directory.
    time_col, oot_from : str, optional
        Out-of-time split (see :func:`split_dataset`).
    test_size : float, default=0.3
        Test share of a random or latest-rows split.
    seed : int, default=42
        Seed of the random split.
    exclude : sequence of str, default=()
        Columns not used as features.
    bad : scalar, optional
        Target value meaning bad.
    select : bool, default=False
        Scorecard only: select features (IV, correlation) and drop wrong-sign coefficients.
    model : Scorecard or GBMClassifier, optional
        Unfitted estimator to use instead of the default one.
    progress : callable, optional
        Called with the name of each step.

    Returns
    -------
    dict
        The artifact's metadata (with ``metrics.train`` and ``metrics.test``).
    """
    step = progress or (lambda _: None)
    if kind not in KINDS:
        raise DataError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    step("reading data")
    data = load_dataset(data_path, target, bad=bad, exclude=exclude)
    step("splitting")
    test, split = split_dataset(
        data, test_size=test_size, seed=seed, time_col=time_col, oot_from=oot_from
    )
    train_frame = data.frame.filter(pl.Series(~test))
    test_frame = data.frame.filter(pl.Series(test))
    y_train, y_test = data.y[~test], data.y[test]
    if model is None:
        if kind == "scorecard":
            model = Scorecard(selector="default", check_signs=True) if select else Scorecard()
        else:
            model = GBMClassifier(time_col=time_col)
    if time_col is not None:
        train_x = train_frame if isinstance(model, GBMClassifier) else train_frame.drop(time_col)
    else:
        train_x = train_frame
    step(f"fitting the {kind}")
    model.fit(train_x, y_train)
    step("measuring")
    p_train = _risk(model, train_frame)
    p_test = _risk(model, test_frame)
    train_metrics = summary_metrics(y_train, p_train)
    test_metrics = summary_metrics(y_test, p_test)
    distribution = score_distribution(p_train)
    test_metrics["psi"] = float(psi_against(distribution, p_test)["psi"].sum())
    metadata = {
        "target": target,
        "bad_value": bad,
        "data": data.info(),
        "excluded": list(exclude),
        "split": split,
        "metrics": {"train": train_metrics, "test": test_metrics},
        "train_score_distribution": distribution,
    }
    step("writing the artifact")
    save_artifact(model, out_dir, metadata)
    meta: dict[str, Any] = load_artifact(out_dir)[1]
    return meta


def evaluate_artifact(
    artifact_dir: str | Path, data_path: str | Path, target: str, *, bad: Any = None
) -> dict[str, Any]:
    """Metrics of an artifact's model on a table: ``auc``, ``gini``, ``ks``, ``n``, ``bad_rate``,
    ``psi`` (against the training scores)."""
    model, meta = load_artifact(artifact_dir)
    if bad is None:
        bad = meta.get("bad_value")
    data = load_dataset(data_path, target, bad=bad)
    risk = _risk(model, data.frame)
    out: dict[str, Any] = summary_metrics(data.y, risk)
    distribution = meta.get("train_score_distribution")
    if distribution:
        out["psi"] = float(psi_against(distribution, risk)["psi"].sum())
    out["kind"] = meta.get("kind")
    return out


def report_artifact(
    artifact_dir: str | Path,
    data_path: str | Path,
    target: str,
    out_html: str | Path,
    *,
    bad: Any = None,
) -> Path:
    """Write the HTML validation report of an artifact's model on a table."""
    model, meta = load_artifact(artifact_dir)
    if bad is None:
        bad = meta.get("bad_value")
    data = load_dataset(data_path, target, bad=bad)
    content = validation_data(model, data.frame, data.y, meta)
    content["data_path"] = str(data_path)
    content["artifact"] = str(artifact_dir)
    out = Path(out_html)
    out.write_text(render_report(content), encoding="utf-8")
    return out
