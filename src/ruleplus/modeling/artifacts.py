"""Model artifact directories: save a fitted model with everything needed to use and audit it.

A directory holds, for either kind:

* ``metadata.json`` — kind, target, features and dropped columns, library versions, the data
  file's SHA-256 and shape, the split, train and test metrics, the parameters, and the train
  score distribution (for PSI);
* ``strategy.yaml`` — a complete strategy with the model's node (``ruleplus validate`` /
  ``ruleplus batch`` run it);

and, for a scorecard, ``model.json`` (bins, coefficients, scaling: the fitted state, no
pickle), ``binning/<feature>.csv`` tables, ``points.csv``, ``scorecard.sql`` and
``scorecard.pmml``; for a GBM, ``model.txt`` (LightGBM text model, referenced by the node) and
``model.json`` (features, categories, constraints). :func:`load_artifact` rebuilds the fitted
estimator from these files without unpickling anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ruleplus.errors import DataError
from ruleplus.modeling._naming import field_names
from ruleplus.modeling.binning import FeatureBinning, WOETransformer
from ruleplus.modeling.export import scorecard_strategy, to_yaml
from ruleplus.modeling.gbm import GBMClassifier
from ruleplus.modeling.scorecard import Scorecard
from ruleplus.modeling.selection import FeatureSelector

__all__ = ["file_sha256", "library_versions", "load_artifact", "save_artifact"]

FORMAT_VERSION = 1


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for name in ("ruleplus", "numpy", "pandas", "polars", "scikit-learn", "lightgbm", "scipy"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "get_params"):
        return {"class": type(value).__name__, "params": _jsonable(value.get_params(deep=False))}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _scorecard_state(model: Scorecard) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "kind": "scorecard",
        "params": _jsonable(model.get_params(deep=False)),
        "binner_params": _jsonable(model.woe_.get_params(deep=False)),
        "features": list(model.features_),
        "all_binned": list(model.woe_.features_),
        "dropped": dict(model.woe_.dropped_),
        "dropped_signs": list(model.dropped_signs_),
        "coef": [float(c) for c in model.coef_],
        "intercept": float(model.intercept_),
        "binnings": {name: fb.to_dict() for name, fb in model.woe_.binnings_.items()},
        "input_types": dict(model.input_types_),
        "feature_names_in": [str(c) for c in model.feature_names_in_],
        "classes": _jsonable(model.classes_),
        "n_iter": int(model.n_iter_),
    }


def _gbm_state(model: GBMClassifier) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "kind": "gbm",
        "params": _jsonable(model.get_params(deep=False)),
        "features": list(model.features_),
        "model_features": list(model.model_features_),
        "categories": _jsonable(model.categories_),
        "input_names": dict(model.input_names_),
        "input_types": dict(model.input_types_),
        "monotone_constraints": dict(model.monotone_constraints_),
        "best_iteration": int(model.best_iteration_),
        "validation_auc": model.validation_auc_,
        "dropped": dict(model.dropped_),
        "feature_names_in": [str(c) for c in model.feature_names_in_],
        "classes": _jsonable(model.classes_),
    }


def save_artifact(
    model: Scorecard | GBMClassifier,
    out_dir: str | Path,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted model's artifact directory.

    Parameters
    ----------
    model : Scorecard or GBMClassifier
        Fitted.
    out_dir : path
        Created when absent; files in it are overwritten.
    metadata : dict, optional
        Added to ``metadata.json`` (data hash, split, metrics…).

    Returns
    -------
    Path
        The directory.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
    }
    if isinstance(model, Scorecard):
        meta["kind"] = "scorecard"
        state = _scorecard_state(model)
        (out / "model.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        tables = out / "binning"
        tables.mkdir(exist_ok=True)
        names = field_names(list(model.woe_.features_))
        for name in model.woe_.features_:
            model.woe_.binning_table(name).to_csv(tables / f"{names[name]}.csv", index=False)
        model.table().to_csv(out / "points.csv", index=False)
        (out / "scorecard.sql").write_text(model.to_sql() + "\n", encoding="utf-8")
        (out / "scorecard.pmml").write_text(model.to_pmml(), encoding="utf-8")
        doc = scorecard_strategy(model)
        meta["features"] = list(model.features_)
        meta["dropped"] = {**model.woe_.dropped_}
        if model.selector_ is not None:
            report = model.selector_.report_
            for _, row in report[~report["kept"]].iterrows():
                meta["dropped"][row["feature"]] = f"selection: {row['dropped_by']}"
        for name in model.dropped_signs_:
            meta["dropped"][name] = "coefficient with the wrong sign"
    elif isinstance(model, GBMClassifier):
        meta["kind"] = "gbm"
        model.save_model(out / "model.txt")
        state = _gbm_state(model)
        (out / "model.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        doc = model.to_strategy(artifact="model.txt")
        meta["features"] = list(model.features_)
        meta["dropped"] = dict(model.dropped_)
    else:
        raise TypeError(f"cannot save a {type(model).__name__}")
    (out / "strategy.yaml").write_text(to_yaml(doc), encoding="utf-8")
    meta.update(_jsonable(metadata or {}))
    (out / "metadata.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("not a model artifact directory (missing file)", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"cannot parse: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise DataError("expected a JSON object", file=str(path))
    return data


def _estimator_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, dict) and "class" in value and "params" in value:
            cls = {"WOETransformer": WOETransformer, "FeatureSelector": FeatureSelector}[
                value["class"]
            ]
            out[key] = cls(**value["params"])
        else:
            out[key] = value
    return out


def _classes(state: dict[str, Any]) -> NDArray[Any]:
    """The labels ``[good, bad]`` (artifacts written before they were kept: ``[0, 1]``)."""
    classes = state.get("classes", [0, 1])
    if not isinstance(classes, list) or len(classes) != 2:
        raise ValueError(f"classes must be two labels, got {classes!r}")
    return np.asarray(classes)


def _load_scorecard(state: dict[str, Any]) -> Scorecard:
    from sklearn.linear_model import LogisticRegression

    model = Scorecard(**_estimator_params(state["params"]))
    woe = WOETransformer(**state["binner_params"])
    woe.binnings_ = {
        name: FeatureBinning.from_dict(data) for name, data in state["binnings"].items()
    }
    woe.features_ = list(state["all_binned"])
    woe.dropped_ = dict(state["dropped"])
    woe.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    woe.n_features_in_ = len(state["feature_names_in"])
    model.woe_ = woe
    model.selector_ = None
    model.features_ = list(state["features"])
    model.dropped_signs_ = list(state["dropped_signs"])
    lr = LogisticRegression(C=model.C, solver="newton-cholesky")
    lr.classes_ = np.array([0, 1])
    lr.coef_ = np.asarray([state["coef"]], dtype=np.float64)
    lr.intercept_ = np.asarray([state["intercept"]], dtype=np.float64)
    lr.n_features_in_ = len(state["coef"])
    lr.n_iter_ = np.array([int(state.get("n_iter", 0))])
    model.estimator_ = lr
    model.coef_ = lr.coef_[0].copy()
    model.intercept_ = float(state["intercept"])
    model.n_iter_ = int(state.get("n_iter", 0))
    model.classes_ = _classes(state)
    model.feature_names_in_ = woe.feature_names_in_
    model.n_features_in_ = woe.n_features_in_
    model.input_types_ = {name: woe.binnings_[name].input_type() for name in model.features_}
    model.input_types_.update(state.get("input_types", {}))
    model._scale()
    return model


def _load_gbm(state: dict[str, Any], directory: Path) -> GBMClassifier:
    import lightgbm as lgb

    model = GBMClassifier(**state["params"])
    model.booster_ = lgb.Booster(model_file=str(directory / "model.txt"))
    model.features_ = list(state["features"])
    model.model_features_ = list(state["model_features"])
    model.categories_ = {k: list(v) for k, v in state["categories"].items()}
    model.input_names_ = dict(state["input_names"])
    model.input_types_ = dict(state["input_types"])
    model.monotone_constraints_ = {k: int(v) for k, v in state["monotone_constraints"].items()}
    model.best_iteration_ = int(state["best_iteration"])
    model.validation_auc_ = state["validation_auc"]
    model.dropped_ = dict(state["dropped"])
    model.feature_importances_ = np.asarray(
        model.booster_.feature_importance(importance_type="gain"), dtype=np.float64
    )
    model.classes_ = _classes(state)
    model.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    model.n_features_in_ = len(state["feature_names_in"])
    return model


def load_artifact(path: str | Path) -> tuple[Scorecard | GBMClassifier, dict[str, Any]]:
    """Rebuild the fitted model of an artifact directory; returns it with its metadata.

    Raises
    ------
    DataError
        The directory is not an artifact or its files are damaged.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise DataError("model artifact directory not found", file=str(directory))
    meta = _read_json(directory / "metadata.json")
    state = _read_json(directory / "model.json")
    kind = state.get("kind")
    try:
        if kind == "scorecard":
            return _load_scorecard(state), meta
        if kind == "gbm":
            return _load_gbm(state, directory), meta
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"damaged model file: {exc}", file=str(directory / "model.json")) from None
    raise DataError(f"unknown model kind {kind!r}", file=str(directory / "model.json"))
