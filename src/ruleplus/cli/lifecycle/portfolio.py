"""``ruleplus lifecycle …`` commands (portfolio): roll rates, vintages, behaviour score,
collections queue, campaign lists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ruleplus.cli._common import JsonFlag, emit, err, run
from ruleplus.errors import DataError

if TYPE_CHECKING:
    from ruleplus.lending.status_data import StatusData

__all__ = ["register"]

AccountCol = Annotated[str, typer.Option("--account-col", help="account key column")]
MonthCol = Annotated[
    str, typer.Option("--month-col", help="month column (integer index, date or YYYY-MM)")
]
StatusCol = Annotated[str, typer.Option("--status-col", help="status code column")]
Codes = Annotated[
    str | None,
    typer.Option(
        "--codes",
        help="status codes as CODE=BUCKET pairs, e.g. 'C=current,X=current,0=M1,1=M2,2=M3,"
        "3=M4,4=M5,5=M6+' (the default)",
    ),
]
Report = Annotated[Path | None, typer.Option("--report", help="also write an HTML report")]


def parse_codes(text: str | None) -> dict[str, str] | None:
    """``CODE=BUCKET,…`` -> mapping (None: the default codes)."""
    if text is None:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        code, sep, bucket = part.partition("=")
        if not sep or not code.strip() or not bucket.strip():
            raise DataError(f"--codes entry {part!r} is not CODE=BUCKET", field="codes")
        out[code.strip()] = bucket.strip()
    return out


def _read(data: Path, account: str, month: str, status: str, codes: str | None) -> StatusData:
    from ruleplus.lending.status_data import StatusColumns, read_status

    return read_status(
        data, columns=StatusColumns(account, month, status), codes=parse_codes(codes)
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``lifecycle`` group."""

    @app.command("rollrate")
    def rollrate(
        data: Path,
        account_col: AccountCol = "ID",
        month_col: MonthCol = "MONTHS_BALANCE",
        status_col: StatusCol = "STATUS",
        codes: Codes = None,
        summary: Annotated[
            bool, typer.Option("--summary", help="without the per-cohort and per-month matrices")
        ] = False,
        report: Report = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Roll rates between delinquency buckets (month m -> m + 1), with cure and flow rates,
        by cohort and by month."""
        from ruleplus.lending.reports import rollrate_report, write_report
        from ruleplus.lending.rollrate import roll_rates

        status = run(lambda: _read(data, account_col, month_col, status_col, codes), as_json)
        rolls = roll_rates(status)
        if report is not None:
            write_report(rollrate_report(rolls, str(data)), report)
            err.print(f"report written to {report}")
        result = rolls.to_dict(detail=not summary)
        lines = [f"{'':8}" + "".join(f"{b:>9}" for b in result["buckets"])]
        for b, row in zip(result["buckets"], result["rates"], strict=True):
            cells = "".join(f"{v:>9.2%}" for v in row) if row else "  (none)"
            lines.append(f"{b:8}{cells}")
        emit(result, as_json, "\n".join(lines))

    @app.command("vintage")
    def vintage(
        data: Path,
        account_col: AccountCol = "ID",
        month_col: MonthCol = "MONTHS_BALANCE",
        status_col: StatusCol = "STATUS",
        codes: Codes = None,
        report: Report = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Vintage cells: per cohort and months on book, the accounts observed and the shares
        ever 30+ / 60+ / 90+ days past due."""
        from ruleplus.lending.reports import vintage_report, write_report
        from ruleplus.lending.vintage import vintages

        status = run(lambda: _read(data, account_col, month_col, status_col, codes), as_json)
        vint = vintages(status)
        if report is not None:
            write_report(vintage_report(vint, str(data)), report)
            err.print(f"report written to {report}")
        result = vint.to_dict()
        text = "\n".join(
            f"{c['cohort']!s:>8} mob {c['mob']:>3} accounts {c['accounts']:>6} "
            f"ever30 {c['ever_30']:.2%} ever60 {c['ever_60']:.2%} ever90 {c['ever_90']:.2%}"
            for c in result["vintages"]
        )
        emit(result, as_json, text)

    @app.command("behaviour")
    def behaviour(
        data: Path,
        out: Annotated[
            Path,
            typer.Option("--out", help="directory for the model artifact and behaviour_score.yaml"),
        ],
        horizon: Annotated[int, typer.Option("--horizon", help="outcome window, months")] = 6,
        account_col: AccountCol = "ID",
        month_col: MonthCol = "MONTHS_BALANCE",
        status_col: StatusCol = "STATUS",
        codes: Codes = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Train a behaviour scorecard (target: M3+ within the horizon) on status history,
        validate it out of time, and export it as a strategy."""
        from rich.status import Status

        from ruleplus.lending.behaviour import fit_behaviour
        from ruleplus.modeling import save_artifact
        from ruleplus.modeling.export import to_yaml

        status = run(lambda: _read(data, account_col, month_col, status_col, codes), as_json)
        with Status("fitting the behaviour scorecard", console=err):
            model = run(lambda: fit_behaviour(status, horizon=horizon), as_json)
        summary = model.to_dict()
        save_artifact(model.scorecard, out, {"behaviour": summary, "data": {"path": str(data)}})
        strategy_path = out / "behaviour_score.yaml"
        strategy_path.write_text(to_yaml(model.strategy()), encoding="utf-8")
        summary["artifact"] = str(out)
        summary["strategy"] = str(strategy_path)
        test = summary["metrics"]["test"]
        emit(
            summary,
            as_json,
            f"out-of-time AUC {test['auc']:.3f} (KS {test['ks']:.3f}, n {test['n']}); "
            f"strategy {strategy_path}",
        )

    @app.command("collections")
    def collections(
        accounts: Path,
        strategy: Annotated[
            Path | None,
            typer.Option(
                "--strategy",
                help="collections strategy (outputs action, pay_probability, action_cost); "
                "default: the packaged example",
            ),
        ] = None,
        account_col: Annotated[
            str, typer.Option("--account-col", help="account key column")
        ] = "account_id",
        top: Annotated[int | None, typer.Option("--top", help="print only the first N")] = None,
        events: Annotated[
            Path | None,
            typer.Option(
                "--events",
                help="recorded events (account_id, kind, action, amount; in time order) for "
                "the report's performance section",
            ),
        ] = None,
        report: Report = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Today's collections queue: delinquent accounts ranked by expected recovery
        (pay_probability x balance - action_cost), each with its action."""
        from ruleplus.cli._common import load_strategy_file
        from ruleplus.datasets import read_table
        from ruleplus.lending.collections import collections_queue, queue_summary
        from ruleplus.lending.reports import collections_report, write_report

        plan = run(lambda: load_strategy_file(strategy), as_json) if strategy else None
        frame = run(lambda: read_table(accounts), as_json)
        queue = run(lambda: collections_queue(frame, plan, account_col=account_col), as_json)
        rows = [q.to_dict() for q in queue]
        history = run(lambda: read_table(events).to_dicts(), as_json) if events else []
        if report is not None:
            write_report(collections_report(rows, history, source=str(accounts)), report)
            err.print(f"report written to {report}")
        shown = rows if top is None else rows[:top]
        result = {"queue": shown, "summary": queue_summary(queue)}
        text = "\n".join(
            f"{q['rank']:>5} {q['account_id']:<16} {q['bucket']:<4} {q['action']:<13} "
            f"balance {q['balance']:>12} expected {q['expected_recovery']:>12}"
            for q in shown
        )
        emit(result, as_json, text or "no delinquent account to work")

    @app.command("campaign")
    def campaign(
        customers: Path,
        strategy: Annotated[
            Path,
            typer.Option(
                "--strategy",
                help="eligibility rules, a propensity output and an offer: section",
            ),
        ],
        out: Annotated[
            Path | None,
            typer.Option("--out", help="campaign file to write (.csv, .parquet, .jsonl…)"),
        ] = None,
        customer_col: Annotated[
            str, typer.Option("--customer-col", help="customer key column")
        ] = "customer_id",
        propensity: Annotated[
            str, typer.Option("--propensity", help="the strategy output ranking the list")
        ] = "propensity",
        min_propensity: Annotated[
            float | None, typer.Option("--min-propensity", help="leave out lower scores")
        ] = None,
        top: Annotated[int | None, typer.Option("--top", help="keep the first N")] = None,
        start: Annotated[
            str | None, typer.Option("--start", help="disbursement date YYYY-MM-DD (default today)")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Pre-approved offer list: eligible customers ranked by propensity, each with an offer
        amount and a price under the rate cap."""
        import datetime as dt

        from ruleplus.cli._common import load_strategy_file
        from ruleplus.config import Settings
        from ruleplus.datasets import read_table
        from ruleplus.lending.campaign import build_campaign

        def parse_start() -> dt.date | None:
            if start is None:
                return None
            try:
                return dt.date.fromisoformat(start)
            except ValueError:
                raise DataError(f"--start {start!r} is not YYYY-MM-DD", field="start") from None

        plan = run(lambda: load_strategy_file(strategy), as_json)
        frame = run(lambda: read_table(customers), as_json)
        day = run(parse_start, as_json)
        result = run(
            lambda: build_campaign(
                frame,
                plan,
                customer_col=customer_col,
                propensity=propensity,
                min_propensity=min_propensity,
                top=top,
                default_cap=Settings.load().rate_cap,
                start=day,
            ),
            as_json,
        )
        summary = result.summary()
        if out is not None:
            run(lambda: result.write(out), as_json)
            summary["file"] = str(out)
        rows = [e.to_row() for e in result.entries]
        emit(
            {"summary": summary, "campaign": rows},
            as_json,
            f"{summary['offered']} offers ({summary['total_offered']}) to "
            f"{summary['customers']} customers; {summary['ineligible']} not eligible, "
            f"declined {summary['declined'] or 'none'}",
        )
