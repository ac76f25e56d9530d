"""What-if curves: one parameter swept over values, a backtest at each value.

Each value is the same strategy version with that parameter overridden
(:meth:`~ruleplus.decision.CompiledStrategy.with_parameters`), decided by the engine; the
curve is approval rate against bad rate among the approved, with the expected loss (outcome
where known, else a model's probability of bad, times LGD times the exposure).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from ruleplus.decision import CompiledStrategy, ParameterSpec, parse_parameter_text
from ruleplus.errors import DataError, ParameterError
from ruleplus.lab.backtest import DEFAULT_LABELS, Labels, outcome_series
from ruleplus.lab.frames import Progress, application_frame, decide_frame

__all__ = ["parse_assignments", "parse_values", "strategy_curve", "sweep"]

_MAX_POINTS = 200
_CENT = Decimal("0.01")


def parse_assignments(strategy: CompiledStrategy, items: Sequence[str]) -> dict[str, Any]:
    """``["cutoff=620", ...]`` (command-line ``--set``) as typed, checked overrides."""
    out: dict[str, Any] = {}
    specs = strategy.parameters
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--set needs NAME=VALUE, got {item!r}", strategy=strategy.id)
        spec = specs.get(name)
        if spec is None:
            declared = ", ".join(sorted(specs)) or "none"
            raise ParameterError(
                f"strategy declares no parameter {name!r} (declared: {declared})",
                strategy=strategy.id,
                field=name,
            )
        out[name] = parse_parameter_text(spec, text)
    return out


def parse_values(spec: ParameterSpec, text: str) -> list[Any]:
    """``a:b:step`` (both ends included) or ``v1,v2,...`` in the parameter's type."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3 or spec.type not in ("integer", "number"):
            raise ParameterError(
                f"--values a:b:step needs a numeric parameter and three numbers, got {text!r}",
                field=spec.name,
            )
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            raise ParameterError(f"--values {text!r}: not numbers", field=spec.name) from None
        if step == 0 or (stop - start) / step < 0:
            raise ParameterError(
                f"--values {text!r}: the step must move from a towards b", field=spec.name
            )
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > _MAX_POINTS:
            raise ParameterError(
                f"--values {text!r}: more than {_MAX_POINTS} points", field=spec.name
            )
        raw = [start + k * step for k in range(count)]
        raw = [round(v, 10) for v in raw]
        values: list[Any] = [round(v) if spec.type == "integer" else v for v in raw]
    else:
        values = [parse_parameter_text(spec, t) for t in text.split(",") if t.strip()]
    return [spec.check(v) for v in dict.fromkeys(values)]


def sweep(
    strategy: CompiledStrategy,
    data: pl.DataFrame,
    param: str,
    values: Sequence[Any],
    **options: Any,
) -> dict[str, Any]:
    """The curve of ``param`` over ``values`` (see :func:`strategy_curve` for ``options``).

    The strategy's own overrides stay in place; its current value of ``param`` is the marked
    point (added to the values when they miss it).
    """
    spec = strategy.parameters.get(param)
    if spec is None:
        declared = ", ".join(sorted(strategy.parameters)) or "none"
        raise ParameterError(
            f"strategy declares no parameter {param!r} (declared: {declared})",
            strategy=strategy.id,
            field=param,
        )
    current = strategy.parameter_values[param]
    checked = [spec.check(v) for v in values]
    if current not in checked:
        checked.append(current)
    checked.sort()
    base = strategy.overrides

    def variant(value: Any) -> CompiledStrategy:
        return strategy.with_parameters({**base, param: value})

    curve = strategy_curve(variant, data, checked, current=current, **options)
    return {
        "strategy": {"id": strategy.id, "version": strategy.version, "parameters": base},
        "param": spec.to_dict(),
        **curve,
    }


def strategy_curve(
    variant: Callable[[Any], CompiledStrategy],
    data: pl.DataFrame,
    values: Sequence[Any],
    *,
    current: Any = None,
    outcome: str | None = None,
    expected: str | None = None,
    exposure: str | None = None,
    lgd: float = 1.0,
    labels: Labels = DEFAULT_LABELS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Backtest ``variant(value)`` for each value: one point of the curve each.

    Parameters
    ----------
    variant : callable
        Value -> compiled strategy (a parameter override, or any family of strategies).
    data : polars.DataFrame
        Historical applications.
    values : sequence
        The values, in curve order.
    current : Any, optional
        The value in force (the point marked ``current``).
    outcome : str, optional
        Outcome column (1 = bad, null = unknown).
    expected : str, optional
        Column or output with a probability of bad, used where the outcome is unknown.
    exposure : str, optional
        Column or output with the amount at risk (default: the ``approvedAmount`` output,
        else the ``loanAmount`` column; none: the loss is in loans, not money).
    lgd : float, default=1.0
        Loss given default.
    labels : Labels
        Decision values.
    progress : callable, optional
        ``progress(done_rows, total_rows)``.

    Returns
    -------
    dict
        ``points`` (per value: rates, bad rates, ``expected_loss`` as decimal text,
        ``loss_rate``, ``current``) and ``current``.
    """
    if not values:
        raise DataError("a sweep needs at least one value")
    if not 0 <= lgd <= 1:
        raise DataError("lgd must be between 0 and 1", field="lgd")
    first = variant(values[0])
    frame = application_frame(data, first)
    n = frame.height
    if n == 0:
        raise DataError("no applications to sweep over")
    y = outcome_series(frame, outcome) if outcome else pl.Series("_y", [None] * n, pl.Float64)
    points = []
    for k, value in enumerate(values):
        strategy = first if k == 0 else variant(value)
        out = decide_frame(strategy, frame, progress=progress, done=k * n, total=n * len(values))
        decision = out.get_column(strategy.decision_field).cast(pl.String)
        p = _pick(expected, frame, out) if expected else pl.Series([None] * n, dtype=pl.Float64)
        ead = _pick(exposure, frame, out) if exposure else _default_exposure(frame, out)
        work = pl.DataFrame({"d": decision, "y": y, "p": p.cast(pl.Float64)})
        work = work.with_columns(
            ead=ead.cast(pl.Float64) if ead is not None else pl.lit(1.0),
            risk=pl.coalesce("y", "p"),
        )
        approved = pl.col("d") == labels.approve
        row = work.select(
            pl.len().alias("n"),
            approved.sum().alias("approved"),
            (pl.col("d") == labels.refer).sum().alias("referred"),
            (pl.col("d") == labels.decline).sum().alias("declined"),
            pl.col("y").filter(approved).sum().alias("bad"),
            pl.col("y").filter(approved).count().alias("known"),
            pl.col("p").filter(approved).mean().alias("expected"),
            (pl.col("risk") * pl.col("ead")).filter(approved).sum().alias("loss"),
            pl.col("risk").filter(approved).count().alias("risk_known"),
            pl.col("ead").filter(approved).sum().alias("exposure"),
        ).row(0, named=True)
        loss = row["loss"] * lgd if row["risk_known"] else None
        points.append(
            {
                "value": value,
                "current": value == current,
                "n": n,
                "approval_rate": row["approved"] / n,
                "refer_rate": row["referred"] / n,
                "decline_rate": row["declined"] / n,
                "bad_rate_approved": row["bad"] / row["known"] if row["known"] else None,
                "expected_bad_rate_approved": row["expected"],
                "approved": int(row["approved"]),
                "exposure": _money(row["exposure"]) if ead is not None else None,
                "expected_loss": (
                    None if loss is None else _money(loss) if ead is not None else loss
                ),
                "loss_rate": (loss / row["exposure"])
                if loss is not None and row["exposure"]
                else None,
            }
        )
    return {
        "points": points,
        "current": current,
        "outcome": outcome,
        "expected": expected,
        "lgd": lgd,
        "exposure": exposure or _exposure_name(frame, decide_frame(first, frame.head(1))),
    }


def _money(value: float) -> str:
    """An amount as decimal text to the cent (sums of exposures are estimates, not ledgers)."""
    return str(Decimal(repr(float(value))).quantize(_CENT))


def _pick(name: str, frame: pl.DataFrame, out: pl.DataFrame) -> pl.Series:
    if name in frame.columns:
        return frame.get_column(name)
    if name in out.columns:
        return out.get_column(name)
    raise DataError(f"no column or strategy output {name!r}", column=name)


def _exposure_name(frame: pl.DataFrame, out: pl.DataFrame) -> str | None:
    if "approvedAmount" in out.columns:
        return "approvedAmount"
    return "loanAmount" if "loanAmount" in frame.columns else None


def _default_exposure(frame: pl.DataFrame, out: pl.DataFrame) -> pl.Series | None:
    name = _exposure_name(frame, out)
    return None if name is None else _pick(name, frame, out)
