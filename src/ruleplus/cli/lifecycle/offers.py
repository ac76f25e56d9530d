"""``ruleplus lifecycle …`` commands (offers): ``schedule`` (a repayment schedule and its
annualised rate) and ``quote`` (a strategy's full offer for one application)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from ruleplus.cli._common import JsonFlag, emit, run
from ruleplus.errors import DataError

__all__ = ["register", "schedule_text"]


def _date(text: str | None, option: str = "start") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DataError(
            f"--{option} must be a date YYYY-MM-DD, got {text!r}", field=option.replace("-", "_")
        ) from None


def _prepayment(item: str) -> tuple[int, str | None, str]:
    """``AFTER:AMOUNT[:MODE]`` of ``--prepay``."""
    parts = item.split(":")
    if len(parts) not in (2, 3) or not parts[0].strip().isdigit():
        raise DataError(
            f"--prepay takes AFTER:AMOUNT[:MODE] (e.g. 6:2000:shorter-term), got {item!r}",
            field="prepay",
        )
    amount = parts[1].strip()
    mode = parts[2].strip() if len(parts) == 3 else "lower-instalment"
    return int(parts[0]), None if amount.lower() == "all" else amount, mode


def _required_date(text: str) -> date:
    chosen = _date(text, "overdue-as-of")
    assert chosen is not None
    return chosen


def schedule_text(data: dict[str, Any]) -> str:
    """A schedule (the JSON form) as a text table."""
    head = f"{'period':>6} {'due date':>10} {'payment':>14} {'principal':>14} {'interest':>12} "
    head += f"{'fee':>10} {'balance':>14}"
    lines = [head]
    for i in data["instalments"]:
        lines.append(
            f"{i['period']:>6} {i['due_date']:>10} {i['payment']:>14} {i['principal']:>14} "
            f"{i['interest']:>12} {i['fee']:>10} {i['balance']:>14}"
        )
    lines.append(
        f"total payment {data['total_payment']}  fees {data['fees']['total']}  "
        f"apr_irr {data['apr_irr']}  effective annual rate {data['effective_annual_rate']}"
    )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``lifecycle`` group."""

    @app.command("schedule")
    def schedule(
        amount: Annotated[str, typer.Option("--amount", help="principal, e.g. 10000 or 10000.50")],
        months: Annotated[int, typer.Option("--months", help="term in monthly periods (1-480)")],
        annual_rate: Annotated[
            str, typer.Option("--annual-rate", help="nominal annual rate as a fraction (0.18)")
        ],
        method: Annotated[
            str,
            typer.Option(
                "--method", help="equal-installment, equal-principal, interest-only or bullet"
            ),
        ] = "equal-installment",
        fee: Annotated[
            list[str] | None,
            typer.Option(
                "--fee",
                help="KIND:VALUE[:NAME], KIND upfront or periodic, VALUE an amount or a percent "
                "of the principal (upfront:2%, periodic:10); repeatable",
            ),
        ] = None,
        start: Annotated[
            str | None, typer.Option("--start", help="disbursement date YYYY-MM-DD (today)")
        ] = None,
        day_count: Annotated[
            str, typer.Option("--day-count", help="30/360, actual/365 or actual/360")
        ] = "30/360",
        grace: Annotated[int, typer.Option("--grace", help="interest-only months first")] = 0,
        prepay: Annotated[
            list[str] | None,
            typer.Option(
                "--prepay",
                help="AFTER:AMOUNT[:MODE]: repay AMOUNT of principal early with instalment AFTER "
                "(0: before the first); AMOUNT 'all' repays in full; MODE lower-instalment "
                "(default) or shorter-term; repeatable, in order",
            ),
        ] = None,
        prepay_fee: Annotated[
            str, typer.Option("--prepay-fee", help="early-repayment fee, a fraction of it")
        ] = "0",
        overdue_as_of: Annotated[
            str | None,
            typer.Option("--overdue-as-of", help="list the instalments late on this date"),
        ] = None,
        paid: Annotated[
            int, typer.Option("--paid", help="with --overdue-as-of: instalments paid so far")
        ] = 0,
        penalty_rate: Annotated[
            str, typer.Option("--penalty-rate", help="annual penalty interest on late amounts")
        ] = "0",
        as_json: JsonFlag = False,
    ) -> None:
        """A repayment schedule to the cent, with its fee-inclusive annualised rate (IRR);
        optionally after early repayments, and the late instalments with penalty interest."""
        from ruleplus.lending.rates import apr_irr, effective_annual_rate
        from ruleplus.lending.schedule import Fee, build_schedule, overdue, repay_early

        def build() -> dict[str, Any]:
            plan = build_schedule(
                amount,
                months,
                annual_rate,
                method,
                start=_date(start),
                day_count_convention=day_count,
                fees=[Fee.parse(f) for f in fee or []],
                grace_months=grace,
            )
            for item in prepay or []:
                after, amount_text, mode = _prepayment(item)
                plan = repay_early(plan, after, amount_text, mode=mode, fee_rate=prepay_fee)
            data = plan.to_dict()
            if overdue_as_of is not None:
                late = overdue(plan, _required_date(overdue_as_of), paid, penalty_rate)
                data["overdue"] = [line.to_dict() for line in late]
                data["penalty_total"] = str(sum((line.penalty for line in late), Decimal(0)))
            data["apr_irr"] = str(apr_irr(plan))
            data["effective_annual_rate"] = str(effective_annual_rate(plan))
            return data

        data = run(build, as_json)
        emit(data, as_json, schedule_text(data))

    @app.command("quote")
    def quote(
        strategy: Annotated[Path, typer.Argument(help="strategy file with an offer section")],
        application: Annotated[Path, typer.Argument(help="the application, a JSON object")],
        amount: Annotated[
            str | None, typer.Option("--amount", help="quote this amount (default: the strategy's)")
        ] = None,
        months: Annotated[
            int | None, typer.Option("--months", help="quote this term (default: the strategy's)")
        ] = None,
        start: Annotated[
            str | None, typer.Option("--start", help="disbursement date YYYY-MM-DD (today)")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """The strategy's decision and full offer (limit, price under the cap, schedule) for one
        application."""
        import json

        from ruleplus.cli._common import load_strategy_file, read_text
        from ruleplus.config import Settings
        from ruleplus.lending.offers import quote_application

        def build() -> dict[str, Any]:
            compiled = load_strategy_file(strategy)
            try:
                record = json.loads(read_text(application))
            except ValueError as exc:
                raise DataError(
                    f"the application is not JSON: {exc}", file=str(application)
                ) from None
            if not isinstance(record, dict):
                raise DataError("the application must be a JSON object", file=str(application))
            return quote_application(
                compiled,
                record,
                amount=amount,
                months=months,
                start=_date(start),
                default_cap=Settings.load().rate_cap,
            )

        data = run(build, as_json)
        offer = data.get("offer")
        text = f"decision {data['decision']}"
        if offer:
            text += f"  limit {offer['limit']}  grade {offer.get('grade')}  "
            text += f"nominal {offer['nominal_rate']}\n" + schedule_text(
                {**offer, "effective_annual_rate": offer["effective_annual_rate"]}
            )
        elif data.get("declined"):
            text += f"  offer declined: {data['declined']['code']} {data['declined']['text']}"
        emit(data, as_json, text)
