"""``ruleplus lab …``: backtests, what-if sweeps, champion/challenger, monitoring, outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ruleplus.cli._common import (
    JsonFlag,
    emit,
    load_strategy_file,
    open_database,
    out,
    row_progress,
    run,
)
from ruleplus.errors import DataError

if TYPE_CHECKING:
    import polars as pl

    from ruleplus.decision import CompiledStrategy

__all__ = ["lab_app"]

lab_app = typer.Typer(
    no_args_is_help=True,
    help="Strategy lab: backtests, swap sets, what-if curves, champion/challenger, monitoring.",
)
outcomes_app = typer.Typer(no_args_is_help=True, help="Performance outcomes of past decisions.")
lab_app.add_typer(outcomes_app, name="outcomes")

DataArg = Annotated[
    Path | None,
    typer.Argument(help="historical applications: CSV, zipped CSV, JSONL, JSON or Parquet"),
]
SqlOpt = Annotated[
    str | None,
    typer.Option(
        "--sql",
        help="read the applications with this SELECT on the service database (read-only); a "
        "stored decision's 'application' column is unnested",
    ),
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="parameter override NAME=VALUE (repeatable)")
]
OutcomeOpt = Annotated[
    str | None, typer.Option("--outcome", help="outcome column: 1 = bad, 0 = good, empty = unknown")
]
ExpectedOpt = Annotated[
    str | None,
    typer.Option("--expected", help="column or output with a model's probability of bad"),
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="write an HTML report here")]


def _data(data: Path | None, sql: str | None, *strategies: CompiledStrategy) -> pl.DataFrame:
    from ruleplus.lab import read_applications, read_sql

    if (data is None) == (sql is None):
        raise DataError("give either a DATA file or --sql QUERY", field="data")
    if sql is not None:
        database, _ = open_database()
        return read_sql(database, sql)
    assert data is not None
    return read_applications(data, *strategies)


def _strategy(path: Path, assignments: list[str] | None) -> CompiledStrategy:
    from ruleplus.lab import parse_assignments

    strategy = load_strategy_file(path)
    if assignments:
        strategy = strategy.with_parameters(parse_assignments(strategy, assignments))
    return strategy


def _write(report: Path | None, html: Callable[[], str]) -> None:
    if report is None:
        return
    try:
        report.write_text(html(), encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write {report}: {exc.strerror}", file=str(report)) from None


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.2%}"


@lab_app.command("backtest")
def backtest_cmd(
    strategy: Annotated[Path, typer.Argument(help="strategy file (A)")],
    data: DataArg = None,
    against: Annotated[
        Path | None, typer.Option("--against", help="strategy file B: the swap set against it")
    ] = None,
    assignments: SetOpt = None,
    against_set: Annotated[
        list[str] | None,
        typer.Option(
            "--against-set",
            help="parameter override of B (repeatable); without --against, B is STRATEGY itself",
        ),
    ] = None,
    outcome: OutcomeOpt = None,
    expected: ExpectedOpt = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="column to break down by (repeatable)")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="date column: rates by month")
    ] = None,
    sql: SqlOpt = None,
    approve: Annotated[str, typer.Option(help="decision value of an approval")] = "approve",
    refer: Annotated[str, typer.Option(help="decision value of a referral")] = "refer",
    decline: Annotated[str, typer.Option(help="decision value of a decline")] = "decline",
    reasons: Annotated[
        bool,
        typer.Option(
            "--reasons/--no-reasons",
            help="count the decline reasons (the engine's reason lists cost ~4 s a million rows)",
        ),
    ] = True,
    report: ReportOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Backtest a strategy over historical applications (vectorised, the engine's decisions)."""
    from ruleplus.lab import Labels, backtest, backtest_report

    def go() -> dict[str, Any]:
        a = _strategy(strategy, assignments)
        b = None
        if against is not None or against_set:
            b = _strategy(against or strategy, against_set)
        frame = _data(data, sql, *([a] if b is None else [a, b]))
        with row_progress(not as_json) as progress:
            result = backtest(
                a,
                frame,
                against=b,
                outcome=outcome,
                expected=expected,
                segments=tuple(segment or ()),
                month=month,
                labels=Labels(approve, refer, decline),
                reasons=reasons,
                progress=progress,
            )
        _write(report, lambda: backtest_report(result))
        return result

    result = run(go, as_json)
    if as_json:
        emit(result, True)
        return
    table = Table("", "A", *(["B"] if "against" in result else []))
    rows = ("approval_rate", "refer_rate", "decline_rate", "bad_rate_approved")
    for key in rows:
        cells = [_pct(result[key])]
        if "against" in result:
            cells.append(_pct(result["against"][key]))
        table.add_row(key.replace("_", " "), *cells)
    out.print(f"{result['n']:,} applications, {result['errors']:,} errors")
    out.print(table)
    if "swap_set" in result:
        swap = Table("A", "B", "count", "bad rate", title="swap set")
        for c in result["swap_set"]:
            swap.add_row(str(c["a"]), str(c["b"]), f"{c['count']:,}", _pct(c["bad_rate"]))
        out.print(swap)
    if report:
        out.print(f"report: {report}")


@lab_app.command("sweep")
def sweep_cmd(
    strategy: Annotated[Path, typer.Argument(help="strategy file")],
    data: DataArg = None,
    param: Annotated[str, typer.Option("--param", help="the parameter to sweep")] = "",
    values: Annotated[
        str, typer.Option("--values", help="a:b:step (both ends included) or v1,v2,...")
    ] = "",
    assignments: SetOpt = None,
    outcome: OutcomeOpt = None,
    expected: ExpectedOpt = None,
    exposure: Annotated[
        str | None,
        typer.Option(help="amount at risk (default: approvedAmount output, else loanAmount)"),
    ] = None,
    lgd: Annotated[float, typer.Option(help="loss given default, 0 to 1")] = 1.0,
    sql: SqlOpt = None,
    report: ReportOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """The strategy curve of one parameter: approval rate against bad rate and expected loss."""
    from ruleplus.lab import parse_values, sweep, sweep_report

    def go() -> dict[str, Any]:
        if not param or not values:
            raise DataError("give --param NAME and --values a:b:step", field="param")
        compiled = _strategy(strategy, assignments)
        spec = compiled.parameters.get(param)
        points = parse_values(spec, values) if spec is not None else []
        frame = _data(data, sql, compiled)
        with row_progress(not as_json) as progress:
            result = sweep(
                compiled,
                frame,
                param,
                points,
                outcome=outcome,
                expected=expected,
                exposure=exposure,
                lgd=lgd,
                progress=progress,
            )
        _write(report, lambda: sweep_report(result))
        return result

    result = run(go, as_json)
    if as_json:
        emit(result, True)
        return
    table = Table(param, "approval rate", "bad rate", "expected loss", "")
    for p in result["points"]:
        bad = p["bad_rate_approved"]
        table.add_row(
            str(p["value"]),
            _pct(p["approval_rate"]),
            _pct(bad if bad is not None else p["expected_bad_rate_approved"]),
            str(p["expected_loss"] or "–"),
            "current" if p["current"] else "",
        )
    out.print(table)


def _when(text: str | None, name: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"--{name} must be an ISO date or date-time", field=name) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@lab_app.command("compare")
def compare_cmd(
    deployment: Annotated[int, typer.Option("--deployment", help="deployment id")],
    outcome: Annotated[
        str | None,
        typer.Option(help="joined outcome name, e.g. bad_90dpd_12m (default: the only one)"),
    ] = None,
    since: Annotated[str | None, typer.Option(help="from this date (ISO)")] = None,
    until: Annotated[str | None, typer.Option(help="before this date (ISO)")] = None,
    report: ReportOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Champion against challengers on the decisions the service stored for a deployment."""
    from ruleplus.lab import compare_deployment, compare_report

    def go() -> dict[str, Any]:
        database, _ = open_database()
        result = compare_deployment(
            database,
            deployment,
            outcome=outcome,
            since=_when(since, "since"),
            until=_when(until, "until"),
        )
        _write(report, lambda: compare_report(result))
        return result

    result = run(go, as_json)
    if as_json:
        emit(result, True)
        return
    table = Table("arm", "decisions", "approval rate", "with outcome", "bad rate")
    for a in result["arms"]:
        table.add_row(
            a["arm"],
            f"{a['n']:,}",
            _pct(a["approval_rate"]),
            f"{a['with_outcome']:,}",
            _pct(a["bad_rate"]),
        )
    out.print(table)
    for c in result["challengers"]:
        out.print(f"{c['arm']}: {c['verdict_text']}")


@lab_app.command("monitor")
def monitor_cmd(
    baseline: Annotated[Path, typer.Argument(help="baseline sample (table file)")],
    current: Annotated[Path, typer.Argument(help="current sample (table file)")],
    strategy: Annotated[
        Path | None,
        typer.Option("--strategy", help="decide both samples: scores and approval rates"),
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="column to monitor (repeatable)")
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="date column of CURRENT: rolling windows")
    ] = None,
    window: Annotated[str, typer.Option(help="day, week or month")] = "week",
    decision: Annotated[
        str | None, typer.Option(help="column holding decisions already made")
    ] = None,
    report: ReportOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """PSI/CSI of inputs and scores against a baseline, per window, and approval-rate drift."""
    from ruleplus.lab import monitor, monitor_report, read_applications

    def go() -> dict[str, Any]:
        compiled = load_strategy_file(strategy) if strategy is not None else None
        extra = [compiled] if compiled is not None else []
        result = monitor(
            read_applications(baseline, *extra),
            read_applications(current, *extra),
            columns=column,
            strategy=compiled,
            time_column=time,
            window=window,
            decision=decision,
        )
        _write(report, lambda: monitor_report(result))
        return result

    result = run(go, as_json)
    if as_json:
        emit(result, True)
        return
    table = Table("column", "index", "value", "level")
    for c in result["columns"]:
        table.add_row(c["column"], c["index"], f"{c['psi']:.4f}", c["level"])
    out.print(table)
    if "approval" in result:
        ap = result["approval"]
        out.print(
            f"approval rate {_pct(ap['baseline_rate'])} -> {_pct(ap['current_rate'])} "
            f"({ap['level']})"
        )


@outcomes_app.command("attach")
def outcomes_attach(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="table with decision_id or application_id (+ partner_id), value, and name",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="outcome name for rows without one (its column holds the value)"),
    ] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", help="partner of rows without partner_id")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Attach outcomes to past decisions (idempotent; corrections audited)."""
    from ruleplus.datasets import read_table
    from ruleplus.serving.outcomes import attach_outcomes, parse_outcome

    def go() -> dict[str, Any]:
        frame = read_table(source, parse_dates=False)
        value_column = "value" if "value" in frame.columns else name
        if value_column is None or value_column not in frame.columns:
            raise DataError(
                "the file needs a 'value' column (or a column named like --name)",
                file=str(source),
            )
        records = [
            parse_outcome({**row, "value": row[value_column]}, k, name=name, partner_id=partner)
            for k, row in enumerate(frame.iter_rows(named=True), start=1)
        ]
        database, _ = open_database()
        return attach_outcomes(database, records, actor="cli")

    result = run(go, as_json)
    emit(
        result,
        as_json,
        f"{result['inserted']:,} attached, {result['corrected']:,} corrected, "
        f"{result['unchanged']:,} unchanged, {result['unmatched']:,} unmatched",
    )
