"""``model`` node (``type: model`` in a document): a machine-learning model scoring each record.

The artifact is found by the strategy's resolver (``ctx.artifacts``: a file relative to the
strategy file, or a ``sha256:`` reference in the service's artifact store) and loaded once, at
compile time, behind a small adapter (:class:`ModelAdapter`)
whose ``predict(matrix)`` gives the probability of class 1 for each row of a float matrix (the
features in the node's order; null features arrive as NaN, which LightGBM, XGBoost and ONNX
models treat as missing). The row program calls ``predict_one`` on a list of feature values; the
vector program calls ``predict`` once on all the rows that reach the node. Both see the same
numbers, so the two back ends agree.

Formats: ``lightgbm`` (text model file), ``onnx`` / ``sklearn-onnx`` (onnxruntime; the
skl2onnx output conventions are understood), ``xgboost`` (when xgboost is installed).
:class:`FakeModel` is the in-memory stand-in for tests.
"""

from __future__ import annotations

import ast
import ctypes
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ruleplus.decision._artifacts import ArtifactError
from ruleplus.decision._document import ModelNode
from ruleplus.decision.nodes._base import CompiledNode, NodeContext, RowGen, VecGen, reads_of
from ruleplus.expr import Kind, Node, Ty

__all__ = [
    "MODEL_FORMATS",
    "CompiledModelNode",
    "FakeModel",
    "LightGBMModel",
    "ModelAdapter",
    "OnnxModel",
    "XGBoostModel",
    "check_model",
]

Matrix = NDArray[np.float64]
_NAN = math.nan


class ModelAdapter:
    """A loaded model: probability of class 1 per row.

    Attributes
    ----------
    feature_names : list of str or None
        Feature names stored in the model (None when the format keeps none).
    n_features : int or None
        Number of features the model expects (None when unknown).
    """

    feature_names: list[str] | None = None
    n_features: int | None = None

    def predict(self, matrix: Matrix) -> Matrix:
        """Probability of class 1 for each row of ``matrix`` (float64, NaN = missing)."""
        raise NotImplementedError

    def predict_one(self, row: Sequence[float | int | None]) -> float:
        """Probability for one record; ``None`` values are missing."""
        values = [_NAN if v is None else float(v) for v in row]
        return float(self.predict(np.array([values], dtype=np.float64))[0])


class FakeModel(ModelAdapter):
    """In-memory stand-in: a logistic function with fixed coefficients.

    Parameters
    ----------
    coefficients : sequence of float
        One weight per feature.
    intercept : float, default=0.0
        Added to the linear score.
    feature_names : list of str, optional
        Names the model claims to have been trained on.

    Missing (NaN) features contribute nothing to the linear score.
    """

    def __init__(
        self,
        coefficients: Sequence[float],
        intercept: float = 0.0,
        feature_names: list[str] | None = None,
    ) -> None:
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        self.intercept = float(intercept)
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.n_features = len(self.coefficients)

    def predict(self, matrix: Matrix) -> Matrix:
        score = np.nan_to_num(matrix, nan=0.0) @ self.coefficients + self.intercept
        out: Matrix = 1.0 / (1.0 + np.exp(-score))
        return out


class LightGBMModel(ModelAdapter):
    """A LightGBM booster (text model file).

    One record goes through LightGBM's C single-row entry point (a few microseconds) when the
    installed LightGBM exposes it, else through ``Booster.predict``.
    """

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.feature_names = list(booster.feature_name())
        self.n_features = int(booster.num_feature())
        if int(booster.num_model_per_iteration()) != 1:
            raise ValueError("the model is multi-class; a binary classifier is expected")
        self._one = _lightgbm_single_row(booster, self.n_features)
        if self._one is not None:
            probe = [0.5] * self.n_features
            if not math.isclose(self._one(probe), self._batch_one(probe), rel_tol=0, abs_tol=1e-12):
                self._one = None  # do not trust an entry point that disagrees with predict

    @classmethod
    def load(cls, path: Path) -> LightGBMModel:
        """Load a LightGBM text model file."""
        import lightgbm

        return cls(lightgbm.Booster(model_file=str(path)))

    def predict(self, matrix: Matrix) -> Matrix:
        return np.asarray(self.booster.predict(matrix), dtype=np.float64)

    def _batch_one(self, row: Sequence[float | int | None]) -> float:
        return ModelAdapter.predict_one(self, row)

    def predict_one(self, row: Sequence[float | int | None]) -> float:
        if self._one is not None:
            return self._one(row)
        return self._batch_one(row)


RowPredictor = Callable[[Sequence[float | int | None]], float]


def _lightgbm_single_row(booster: Any, n: int) -> RowPredictor | None:
    """A caller of ``LGBM_BoosterPredictForMatSingleRow`` (None when unavailable)."""
    try:
        from lightgbm import libpath

        fn = libpath._LIB.LGBM_BoosterPredictForMatSingleRow
        handle = booster._handle
        params = ctypes.c_char_p(b"")
    except (ImportError, AttributeError):
        return None
    row_type = ctypes.c_double * n
    out_type = ctypes.c_double * 1
    float64 = ctypes.c_int(1)  # C_API_DTYPE_FLOAT64
    ncol = ctypes.c_int32(n)
    row_major = ctypes.c_int(1)
    normal = ctypes.c_int(0)  # C_API_PREDICT_NORMAL: the probability for a binary objective
    start = ctypes.c_int(0)
    all_iterations = ctypes.c_int(-1)
    nan = _NAN

    def one(row: Sequence[float | int | None]) -> float:
        data = row_type(*[nan if v is None else v for v in row])
        out = out_type()
        out_len = ctypes.c_int64(0)
        if (
            fn(
                handle,
                data,
                float64,
                ncol,
                row_major,
                normal,
                start,
                all_iterations,
                params,
                ctypes.byref(out_len),
                out,
            )
            != 0
        ):
            raise RuntimeError("LightGBM single-row prediction failed")
        return float(out[0])

    return one


class OnnxModel(ModelAdapter):
    """An ONNX model run by onnxruntime: one float tensor input ``[N, n_features]``.

    The output used is, in order of preference: ``probabilities`` / ``output_probability``
    (skl2onnx classifiers: a ``[N, 2]`` tensor or, with ZipMap, a list of dicts), else the only
    float tensor output (``[N, 2]``, ``[N, 1]`` or ``[N]``).
    """

    _PROBABILITY_NAMES = ("probabilities", "output_probability", "probability")

    def __init__(self, session: Any) -> None:
        self.session = session
        inputs = session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs)
            raise ValueError(
                f"the model has {len(inputs)} inputs ({names}); one float tensor "
                "[N, n_features] is expected"
            )
        inp = inputs[0]
        if inp.type not in ("tensor(float)", "tensor(double)"):
            raise ValueError(
                f"the model input {inp.name!r} is {inp.type}; tensor(float) or "
                "tensor(double) is expected"
            )
        self.input_name = inp.name
        self.dtype = np.float32 if inp.type == "tensor(float)" else np.float64
        shape = list(inp.shape or [])
        self.n_features = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        self.output_name = self._choose_output(session.get_outputs())

    @classmethod
    def load(cls, path: Path) -> OnnxModel:
        """Open an ONNX file with onnxruntime (CPU)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(session)

    @classmethod
    def _choose_output(cls, outputs: list[Any]) -> str:
        by_name = {o.name: o for o in outputs}
        for name in cls._PROBABILITY_NAMES:
            if name in by_name:
                return name
        maps = [o for o in outputs if str(o.type).startswith("seq(map(")]
        if len(maps) == 1:
            return str(maps[0].name)
        floats = [o for o in outputs if o.type in ("tensor(float)", "tensor(double)")]
        if len(floats) == 1:
            return str(floats[0].name)
        shown = ", ".join(f"{o.name}: {o.type}" for o in outputs)
        raise ValueError(
            f"cannot tell which output is the probability ({shown}); name it 'probabilities'"
        )

    def predict(self, matrix: Matrix) -> Matrix:
        rows = matrix.shape[0]
        if rows == 0:
            return np.empty(0, dtype=np.float64)
        feed = np.ascontiguousarray(matrix, dtype=self.dtype)
        if rows == 1:
            # onnxruntime computes a one-row float32 product by another kernel (GEMV), which can
            # round differently from the same row inside a batch: a lone row goes in twice, so
            # that a record scores exactly as it does inside a frame
            feed = np.repeat(feed, 2, axis=0)
        (value,) = self.session.run([self.output_name], {self.input_name: feed})
        return _positive_class(value)[:rows]


def _positive_class(value: Any) -> Matrix:
    """Probability of class 1 from a classifier's or regressor's output."""
    if isinstance(value, list):  # ZipMap: one {class: probability} per row
        if not value:
            return np.empty(0, dtype=np.float64)
        key = _positive_key(value[0])
        return np.fromiter((float(d[key]) for d in value), dtype=np.float64, count=len(value))
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] in (1, 2):
        out: Matrix = arr[:, -1].copy()
        return out
    if arr.ndim == 1:
        return arr
    raise ValueError(f"model output has shape {arr.shape}; [N, 2], [N, 1] or [N] is expected")


def _positive_key(probabilities: dict[Any, Any]) -> Any:
    for key in (1, "1", True):
        if key in probabilities:
            return key
    if len(probabilities) == 2:
        return list(probabilities)[-1]
    raise ValueError(f"model gives {len(probabilities)} classes; a binary classifier is expected")


class XGBoostModel(ModelAdapter):
    """An XGBoost booster (JSON/UBJSON model file); needs the ``xgboost`` package."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        names = booster.feature_names
        self.feature_names = list(names) if names else None
        self.n_features = int(booster.num_features())

    @classmethod
    def load(cls, path: Path) -> XGBoostModel:
        """Load an XGBoost model file."""
        try:
            import xgboost  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise ValueError(
                "the 'xgboost' format needs the xgboost package: pip install xgboost"
            ) from None
        booster = xgboost.Booster()
        booster.load_model(str(path))
        return cls(booster)

    def predict(self, matrix: Matrix) -> Matrix:
        if matrix.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        out = np.asarray(self.booster.inplace_predict(matrix, missing=np.nan), dtype=np.float64)
        return _positive_class(out)


MODEL_FORMATS: dict[str, Callable[[Path], ModelAdapter]] = {
    "lightgbm": LightGBMModel.load,
    "onnx": OnnxModel.load,
    "sklearn-onnx": OnnxModel.load,
    "xgboost": XGBoostModel.load,
}
"""Format name -> loader ``(path) -> ModelAdapter`` (tests may swap in a :class:`FakeModel`)."""


@dataclass
class CompiledModelNode(CompiledNode):
    """Features -> one model call -> the output field."""

    features: list[tuple[str, Node]] = field(default_factory=list)
    output: str = "probability"
    model: ModelAdapter | None = None

    def _adapter(self) -> ModelAdapter:
        assert self.model is not None
        return self.model

    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        predict = g.helper(f"_model_{self.index}", self._adapter().predict_one)
        row = ast.List(elts=[g.expr(tree) for _, tree in self.features], ctx=ast.Load())
        return [g.store(self.output, ast.Call(func=predict, args=[row], keywords=[]))]

    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        columns = [g.column(g.expr(tree).cast(pl.Float64)) for _, tree in self.features]
        parts = [pl.col(c).alias(f"f{i}") for i, c in enumerate(columns)]
        if mask is not None:
            parts.append(pl.col(g.column(mask.fill_null(False))).alias("_reach"))
        adapter = self._adapter()

        def score(batch: pl.Series) -> pl.Series:
            frame = batch.struct.unnest()
            reach = frame.get_column("_reach").to_numpy() if "_reach" in frame.columns else None
            matrix = np.ascontiguousarray(
                frame.select(f"f{i}" for i in range(len(columns))).to_numpy(), dtype=np.float64
            )
            if reach is None:
                return pl.Series(adapter.predict(matrix), dtype=pl.Float64)
            out = np.full(len(matrix), _NAN)
            if reach.any():
                out[reach] = adapter.predict(matrix[reach])
            return pl.Series(out, dtype=pl.Float64)

        value = pl.struct(parts).map_batches(score, return_dtype=pl.Float64)
        g.assign(self.output, value, mask, self.assigns[self.output])
        g.flush()


_NUMERIC = (Kind.INTEGER, Kind.NUMBER, Kind.NULL)


def check_model(doc: ModelNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Type the features, load the artifact once and check it against the features."""
    if not doc.features:
        raise ctx.error("a model node needs at least one feature in 'features'", "features")
    features: list[tuple[str, Node]] = []
    for name, text in doc.features.items():
        tree = ctx.expr(text, env, "features", name)
        assert tree.ty is not None
        if tree.ty.kind not in _NUMERIC:
            raise ctx.error(f"feature {name!r} must be a number, got {tree.ty}", "features", name)
        features.append((name, tree))
    model = _load(doc, ctx)
    names = [n for n, _ in features]
    if model.feature_names is not None and model.feature_names != names:
        raise ctx.error(
            f"the model's features {model.feature_names} do not match the node's "
            f"features {names} (same names, same order)",
            "features",
        )
    if model.n_features is not None and model.n_features != len(names):
        raise ctx.error(
            f"the model expects {model.n_features} features, the node gives {len(names)}",
            "features",
        )
    try:
        probe = model.predict(np.full((2, len(names)), _NAN))
    except Exception as exc:
        raise ctx.error(f"the {doc.format} model fails on a test row: {exc}", "artifact") from None
    if np.shape(probe) != (2,):
        raise ctx.error(
            f"the {doc.format} model gives output of shape {np.shape(probe)} for 2 "
            "rows; one probability per row is expected",
            "artifact",
        )
    return CompiledModelNode(
        doc.id,
        "model",
        ctx.node_index,
        reads=[r for r in reads_of(*(t for _, t in features)) if r in env],
        assigns={doc.output: Ty(Kind.NUMBER, nullable=False)},
        features=features,
        output=doc.output,
        model=model,
    )


def _load(doc: ModelNode, ctx: NodeContext) -> ModelAdapter:
    loader = MODEL_FORMATS.get(doc.format)
    if loader is None:
        raise ctx.error(
            f"unknown model format {doc.format!r}; known: {', '.join(MODEL_FORMATS)}", "format"
        )
    try:  # the resolver decides what a reference may reach (a folder, the artifact store)
        path = ctx.artifacts.artifact(doc.artifact)
    except ArtifactError as exc:
        raise ctx.error(f"model {exc.message}", "artifact", field="artifact") from None
    try:
        return loader(path)
    except Exception as exc:
        raise ctx.error(
            f"cannot load the {doc.format} model {doc.artifact!r}: {exc}", "artifact"
        ) from None
