"""The console's simulation and dashboards: the lab's functions (:mod:`ruleplus.lab`) over a
draft and the service's stored decisions or an uploaded sample.

A simulation decides the sample with the draft and with the published version (the lab's
backtest: rates, swap set, decline reasons, by partner and channel) and, for a declared
parameter, the strategy curve over its range. Nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from ruleplus import lab
from ruleplus.decision import CompiledStrategy, compile_strategy
from ruleplus.errors import DataError, NotFoundError
from ruleplus.service.auth import state_of
from ruleplus.service.console.documents import document_text
from ruleplus.service.console.session import Drafter, Viewer
from ruleplus.store.tables import DecisionRecord, Deployment, StrategyVersion

__all__ = ["MAX_ROWS", "router"]

router = APIRouter(prefix="/console/api", tags=["console"], include_in_schema=False)

MAX_ROWS = 200_000
"""Most stored decisions one simulation reads."""
_CURVE_POINTS = 11


class Sample(BaseModel):
    kind: Literal["stored", "upload"] = "stored"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    product: str | None = Field(None, max_length=80)
    limit: int = Field(100_000, ge=1, le=MAX_ROWS)
    file: str | None = Field(None, description="base64 of a CSV or Parquet file")
    format: Literal["csv", "parquet"] = "csv"


class Simulate(BaseModel):
    document: dict[str, Any]
    baseline_version: str | None = Field(None, max_length=60)
    sample: Sample = Field(default_factory=lambda: Sample.model_validate({}))
    segments: list[str] = Field(default_factory=lambda: ["partner_id", "channel"], max_length=4)
    parameter: str | None = Field(None, max_length=120)


def _published(db: Any, strategy_id: str, version: str | None) -> tuple[str, str]:
    with db.session() as session:
        query = select(StrategyVersion.version, StrategyVersion.document).where(
            StrategyVersion.strategy_id == strategy_id, StrategyVersion.status == "published"
        )
        if version:
            query = query.where(StrategyVersion.version == version)
        row = session.execute(query.order_by(StrategyVersion.id.desc()).limit(1)).first()
    if row is None:
        raise NotFoundError(
            "no published version to simulate against", strategy=strategy_id, version=version
        )
    return str(row[0]), str(row[1])


def _stored_sample(db: Any, strategy_id: str, sample: Sample) -> pl.DataFrame:
    end = sample.end or dt.datetime.now(dt.UTC)
    start = sample.start or end - dt.timedelta(days=30)
    query = (
        select(
            DecisionRecord.application,
            DecisionRecord.partner_id,
            DecisionRecord.channel,
            DecisionRecord.product,
        )
        .where(
            DecisionRecord.strategy_id == strategy_id,
            DecisionRecord.created_at >= start,
            DecisionRecord.created_at < end,
        )
        .order_by(DecisionRecord.created_at.desc())
        .limit(sample.limit)
    )
    if sample.product:
        query = query.where(DecisionRecord.product == sample.product)
    with db.session() as session:
        rows = session.execute(query).all()
    if not rows:
        raise DataError(
            f"no stored decisions of {strategy_id} between {start:%Y-%m-%d} and {end:%Y-%m-%d}",
            field="sample",
        )
    records = [
        {**(app or {}), "partner_id": partner, "channel": channel, "product": product}
        for app, partner, channel, product in rows
    ]
    return pl.DataFrame(records, infer_schema_length=None, strict=False)


def _uploaded(sample: Sample) -> pl.DataFrame:
    if not sample.file:
        raise DataError("an uploaded sample needs its file (base64)", field="sample.file")
    try:
        content = base64.b64decode(sample.file.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        raise DataError("the sample file is not valid base64", field="sample.file") from None
    try:
        if sample.format == "parquet":
            return pl.read_parquet(io.BytesIO(content))
        return pl.read_csv(io.BytesIO(content), infer_schema_length=10_000)
    except Exception as exc:  # polars raises many kinds for a malformed file
        raise DataError(
            f"cannot read the {sample.format} sample: {exc}".splitlines()[0], field="sample.file"
        ) from None


def _curve_values(strategy: CompiledStrategy, name: str) -> tuple[list[Any], Any]:
    specs = strategy.parameters
    if name not in specs:
        raise DataError(f"the strategy declares no parameter {name!r}", field="parameter")
    spec = specs[name]
    if spec.type not in ("integer", "number"):
        raise DataError(f"parameter {name!r} is not numeric", field="parameter")
    default = float(spec.default)
    low = spec.min if spec.min is not None else default * 0.8
    high = spec.max if spec.max is not None else default * 1.2
    # around the default: a fifth of the range each side (clipped to the bounds)
    span = max((high - low) / 5, abs(default) * 0.05, 1e-9)
    lo, hi = max(low, default - span), min(high, default + span)
    step = (hi - lo) / (_CURVE_POINTS - 1)
    values: list[Any] = [lo + k * step for k in range(_CURVE_POINTS)]
    if spec.type == "integer":
        values = sorted({round(v) for v in values} | {round(default)})
    else:
        values = sorted({round(v, 6) for v in values} | {default})
    return values, spec.default


def run_simulation(state: Any, body: Simulate) -> dict[str, Any]:
    """Backtest the draft against the published version on the sample (the lab's numbers)."""
    text = document_text(body.document)
    draft = compile_strategy(text, name="(console draft)", artifacts=state.resolver)
    version, _ = _published(state.database, draft.id, body.baseline_version)
    published = state.decisions.strategy(draft.id, version)
    if body.sample.kind == "stored":
        frame = _stored_sample(state.database, draft.id, body.sample)
    else:
        frame = _uploaded(body.sample)
    segments = [s for s in body.segments if s in frame.columns]
    result = lab.backtest(draft, frame, against=published, segments=segments)
    base = lab.backtest(published, frame)
    out: dict[str, Any] = {
        "baseline": {"strategy_id": draft.id, "version": version},
        "n": result["n"],
        "draft": result,
        "published": base,
        "segments": segments,
    }
    if body.parameter:
        values, current = _curve_values(draft, body.parameter)
        name = body.parameter
        curve = lab.strategy_curve(
            lambda v: draft.with_parameters({name: v}), frame, values, current=current
        )
        out["curve"] = {"parameter": name, **curve}
    plain: dict[str, Any] = _plain(out)
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


@router.post("/simulate")
async def simulate(body: Simulate, request: Request, user: Drafter) -> dict[str, Any]:
    """Simulate an edited draft (nothing is stored)."""
    import asyncio

    state = state_of(request)
    result: dict[str, Any] = await asyncio.to_thread(run_simulation, state, body)
    return result


@router.get("/dashboards/compare/{deployment_id}")
def compare(
    deployment_id: int,
    request: Request,
    user: Viewer,
    outcome: Annotated[str | None, Query(max_length=80)] = None,
) -> dict[str, Any]:
    """Champion against challengers of one deployment, with confidence intervals."""
    out: dict[str, Any] = _plain(
        lab.compare_deployment(state_of(request).database, deployment_id, outcome=outcome)
    )
    return out


@router.get("/dashboards/monitor")
def monitoring(
    request: Request,
    user: Viewer,
    strategy_id: Annotated[str, Query(max_length=120)],
    days: Annotated[int, Query(ge=2, le=365)] = 28,
) -> dict[str, Any]:
    """PSI and approval rate over time: the first half of the period is the baseline."""
    db = state_of(request).database
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=days)
    with db.session() as session:
        rows = session.execute(
            select(DecisionRecord.application, DecisionRecord.outcome, DecisionRecord.created_at)
            .where(
                DecisionRecord.strategy_id == strategy_id,
                DecisionRecord.created_at >= start,
            )
            .order_by(DecisionRecord.created_at)
            .limit(MAX_ROWS)
        ).all()
    if len(rows) < 2:
        return {"strategy_id": strategy_id, "n": len(rows), "windows": [], "columns": []}
    records = [{**(app or {}), "_decision": outcome, "_at": at} for app, outcome, at in rows]
    frame = pl.DataFrame(records, infer_schema_length=None, strict=False)
    half = frame.height // 2
    baseline, current = frame.slice(0, half), frame.slice(half)
    columns = [c for c in frame.columns if not c.startswith("_") and frame.schema[c].is_numeric()]
    out: dict[str, Any] = _plain(
        lab.monitor(
            baseline,
            current,
            columns=columns,
            time_column="_at",
            window="day",
            decision="_decision",
        )
    )
    out["strategy_id"] = strategy_id
    out["n"] = frame.height
    return out


@router.get("/dashboards/deployments")
def live_deployments(request: Request, user: Viewer) -> list[dict[str, Any]]:
    """The live deployments with challengers (what the comparison can be asked for)."""
    with state_of(request).database.session() as session:
        rows = session.execute(
            select(Deployment).where(Deployment.active.is_(True)).order_by(Deployment.id.desc())
        ).scalars()
        return [
            {
                "deployment_id": d.id,
                "partner_id": d.partner_id,
                "product": d.product,
                "channel": d.channel,
                "strategy_id": d.strategy_id,
                "champion": d.champion,
                "challengers": list(d.challengers),
            }
            for d in rows
        ]


class StatusUpload(BaseModel):
    file: str = Field(min_length=1, description="base64 of an account-month status file")
    format: Literal["csv", "parquet"] = "csv"


@router.post("/dashboards/lifecycle")
async def lifecycle(body: StatusUpload, request: Request, user: Viewer) -> dict[str, Any]:
    """Roll rates and vintage curves of an uploaded account-month status file (lending's own
    functions; nothing is stored)."""
    import asyncio

    from ruleplus.lending import roll_rates, status_data, vintages

    def compute() -> dict[str, Any]:
        frame = _uploaded(Sample.model_validate({"kind": "upload", **body.model_dump()}))
        data = status_data(frame)
        curves = vintages(data).curves("ever_30")
        recent = sorted(curves, key=str)[-12:]  # the latest cohorts: a readable chart
        plain: dict[str, Any] = _plain(
            {
                "roll_rates": roll_rates(data).to_dict(detail=False),
                "vintages": [
                    {"cohort": c, "mob": curves[c][0], "ever_30": curves[c][1]} for c in recent
                ],
            }
        )
        return plain

    out: dict[str, Any] = await asyncio.to_thread(compute)
    return out
