"""Offers: a decided application's limit, price under the cap and schedule, from the strategy's
``offer:`` section (see :class:`ruleplus.decision.OfferDoc`).

:func:`make_offer` is the one row path (the service, ``ruleplus lifecycle quote``); the vector
path (:mod:`.vector`) agrees with it. An offer is never issued above the cap: it is re-priced
down to it or declined (:class:`OfferDecline`, with a reason code the decision carries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ruleplus.decision import CompiledStrategy, OfferProgram
from ruleplus.errors import DataError
from ruleplus.lending.limits import CreditLimit, credit_limit
from ruleplus.lending.money import CENT, rate_text, term_months, to_decimal
from ruleplus.lending.money import amount as check_amount
from ruleplus.lending.pricing import cap_rate, price_for, reprice_to_cap
from ruleplus.lending.rates import annualised, within_cap
from ruleplus.lending.schedule import Schedule, build_schedule, fee_summary

__all__ = [
    "DECLINE_TEXTS",
    "DecisionOffer",
    "Offer",
    "OfferDecline",
    "decision_offer",
    "make_offer",
    "offer_for_terms",
    "quote_application",
]

DECLINE_TEXTS: dict[str, tuple[str, str]] = {
    "OFFER_CAP": (
        "No price within the annualised-rate cap",
        "无法在年化利率上限内定价",
    ),
    "OFFER_LIMIT": ("Credit limit below the minimum loan", "授信额度低于最低借款金额"),
    "OFFER_GRADE": ("No price for this risk grade", "该风险等级无定价"),
    "OFFER_TERMS": ("The amount or term asked for is missing", "缺少申请金额或期限"),
}
"""Reason codes of a declined offer (a strategy's reason catalogue may give its own texts)."""


@dataclass(frozen=True)
class Offer:
    """An offer: the amount lent, its price and its schedule."""

    schedule: Schedule
    limit: CreditLimit
    grade: str | None
    price: str
    list_rate: Decimal
    cap: Decimal
    apr_irr: Decimal
    effective_annual_rate: Decimal

    @property
    def repriced(self) -> bool:
        """Whether the nominal rate was lowered to keep the annualised rate within the cap."""
        return self.schedule.annual_rate < self.list_rate

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the service answers and stores: money and rates as decimal text
        (exact), periods and months as integers."""
        s = self.schedule
        return {
            "amount": str(s.amount),
            "months": s.months,
            "method": s.method,
            "day_count": s.day_count,
            "start": s.start.isoformat(),
            "grade": self.grade,
            "limit": None if self.limit.amount is None else str(self.limit.amount),
            "limit_parts": {k: str(v.quantize(CENT)) for k, v in self.limit.parts.items()},
            "list_rate": rate_text(self.list_rate),
            "nominal_rate": rate_text(s.annual_rate),
            "apr_irr": str(self.apr_irr),
            "effective_annual_rate": str(self.effective_annual_rate),
            "cap": str(self.cap),
            "repriced": self.repriced,
            "fees": fee_summary(s),
            "disbursed": str(s.disbursed),
            "instalments": [i.to_dict() for i in s.instalments],
            "total_payment": str(s.total_payment),
            "total_interest": str(s.total_interest),
        }


@dataclass(frozen=True)
class OfferDecline:
    """No offer: the reason ``code`` (see :data:`DECLINE_TEXTS`) and what was found."""

    code: str
    text: str
    text_zh: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": self.code,
            "text": self.text,
            "text_zh": self.text_zh,
            "detail": self.detail,
        }


def _decline(code: str, detail: str, catalogue: Mapping[str, Any] | None) -> OfferDecline:
    en, zh = DECLINE_TEXTS[code]
    own = (catalogue or {}).get(code)
    if own is not None:
        en, zh = own.en, own.zh or own.en
    return OfferDecline(code, en, zh, detail)


def offer_for_terms(
    program: OfferProgram,
    terms: Mapping[str, Any],
    *,
    default_cap: Decimal,
    amount: Any = None,
    months: Any = None,
    start: date | None = None,
    catalogue: Mapping[str, Any] | None = None,
) -> Offer | OfferDecline:
    """The offer for evaluated ``terms`` (:meth:`OfferProgram.terms`).

    Parameters
    ----------
    program : OfferProgram
        The strategy's compiled offer section.
    terms : mapping
        The terms of one application.
    default_cap : Decimal
        The cap when the section names none (the ``rate_cap`` setting).
    amount, months : optional
        A quote for this amount (at most the limit) and term instead of those asked for.
    start : date, optional
        Disbursement date (default today).
    catalogue : mapping, optional
        The strategy's reason texts.

    Raises
    ------
    DataError
        A requested amount above the limit, a term out of range, a price or fee that is not
        a rate (each naming its field).
    """
    doc = program.doc
    asked_months = terms.get("months") if months is None else months
    if asked_months is None:
        return _decline("OFFER_TERMS", "the term is null", catalogue)
    n = term_months(asked_months, "months")
    grade = None if terms.get("grade") is None else str(terms["grade"])
    priced = price_for(doc, terms, grade)
    if priced is None:
        return _decline(
            "OFFER_GRADE", f"grade {grade!r} has no price and there is no '*'", catalogue
        )
    key, list_rate, fees = priced
    cap = cap_rate(terms.get("cap") if terms.get("cap") is not None else default_cap, "offer.cap")
    limit = credit_limit(
        doc.limit, terms, grade, method=doc.method, annual_rate=list_rate, months=n, fees=fees
    )
    if amount is not None:
        wanted = check_amount(amount)
        if limit.amount is not None and wanted > limit.amount:
            raise DataError(
                f"amount {wanted} is above this application's limit {limit.amount}", field="amount"
            )
    elif terms.get("amount") is not None:
        wanted = to_decimal(terms["amount"], "amount").quantize(CENT, rounding=ROUND_DOWN)
    elif limit.amount is not None:
        wanted = limit.amount
    else:
        return _decline("OFFER_TERMS", "the amount is null and there is no limit", catalogue)
    lent = wanted if limit.amount is None else min(wanted, limit.amount)
    if lent <= 0 or lent < limit.minimum:
        return _decline("OFFER_LIMIT", f"limit {limit.amount}, minimum {limit.minimum}", catalogue)
    lent = check_amount(lent)
    start = start or date.today()
    schedule: Schedule | None
    if doc.over_cap == "decline":
        schedule = build_schedule(
            lent,
            n,
            list_rate,
            doc.method,
            start=start,
            day_count_convention=doc.day_count,
            fees=fees,
        )
        if not within_cap(schedule, cap):
            return _decline("OFFER_CAP", f"annualised rate above the cap {cap}", catalogue)
    else:
        schedule = reprice_to_cap(
            lent, n, list_rate, doc.method, cap=cap, fees=fees, start=start, day_count=doc.day_count
        )
        if schedule is None:
            return _decline("OFFER_CAP", f"the fees alone exceed the cap {cap}", catalogue)
    apr, effective = annualised(schedule)
    return Offer(schedule, limit, grade, key, list_rate, cap, apr, effective)


def make_offer(
    strategy: CompiledStrategy,
    record: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    default_cap: Decimal,
    amount: Any = None,
    months: Any = None,
    start: date | None = None,
) -> Offer | OfferDecline | None:
    """The offer of one decided application; None when the strategy makes none for it (no
    ``offer:`` section, or its ``when`` is false)."""
    program = strategy.offer
    if program is None:
        return None
    terms = program.terms(record, outputs)
    if terms is None:
        return None
    return offer_for_terms(
        program,
        terms,
        default_cap=default_cap,
        amount=amount,
        months=months,
        start=start,
        catalogue=strategy.document.reasons,
    )


@dataclass(frozen=True)
class DecisionOffer:
    """What an offer changes in a decision: its JSON (``body``), or a decline of an approval."""

    body: dict[str, Any] | None = None
    declined: OfferDecline | None = None

    def outcome(self, outcome: str | None) -> str | None:
        """The decision's outcome: ``decline`` when the offer was declined."""
        return "decline" if self.declined is not None else outcome

    def outputs(self, outputs: dict[str, Any], decision_field: str) -> dict[str, Any]:
        """The outputs, with the decision field set to ``decline`` for a declined offer."""
        if self.declined is None:
            return outputs
        return {**outputs, decision_field: "decline"}

    def reasons(self, reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reasons, with the declined offer's reason first."""
        if self.declined is None:
            return reasons
        d = self.declined
        first = {
            "code": d.code,
            "text": d.text,
            "text_zh": d.text_zh,
            "node": "offer",
            "weight": 0.0,
        }
        return [first, *reasons]


NO_OFFER = DecisionOffer()


def decision_offer(
    strategy: CompiledStrategy,
    record: Mapping[str, Any],
    outputs: Mapping[str, Any],
    *,
    default_cap: Decimal,
    start: date | None = None,
) -> DecisionOffer:
    """The offer of one decision on the online path (see :class:`DecisionOffer`); the
    schedule starts today (UTC) unless ``start`` says otherwise."""
    if strategy.offer is None:
        return NO_OFFER
    result = make_offer(
        strategy,
        record,
        outputs,
        default_cap=default_cap,
        start=start or datetime.now(UTC).date(),
    )
    if result is None:
        return NO_OFFER
    if isinstance(result, OfferDecline):
        return DecisionOffer(declined=result)
    return DecisionOffer(body=result.to_dict())


def quote_application(
    strategy: CompiledStrategy,
    record: Mapping[str, Any],
    *,
    default_cap: Decimal,
    amount: Any = None,
    months: Any = None,
    start: date | None = None,
) -> dict[str, Any]:
    """Decide ``record`` and quote its offer: ``{decision, reasons, outputs, offer | declined}``.

    Raises
    ------
    DataError
        The strategy has no ``offer:`` section, or a requested amount or term is refused.
    InputValidationError
        The application does not match the strategy's inputs.
    """
    if strategy.offer is None:
        raise DataError(f"strategy {strategy.id!r} has no offer section", field="offer")
    decision = strategy.evaluate(record)
    result = make_offer(
        strategy,
        record,
        decision.outputs,
        default_cap=default_cap,
        amount=amount,
        months=months,
        start=start,
    )
    out: dict[str, Any] = {
        "decision": decision.decision,
        "reasons": [r.to_dict() for r in decision.reasons],
        "outputs": decision.outputs,
        "strategy": {"id": strategy.id, "version": strategy.version},
        "offer": None,
    }
    if isinstance(result, Offer):
        out["offer"] = result.to_dict()
    elif isinstance(result, OfferDecline):
        out["declined"] = result.to_dict()
    return out
