"""A strategy's ``offer:`` section: what an approved application is offered, kept as data.

The decision package only checks the section against the schema and evaluates its
expressions (who gets an offer, the requested amount and term, the grade, the limit's inputs,
and any price, fee or cap written as an expression, parameters included) over the strategy's
inputs, outputs and parameters, row by row (:meth:`OfferProgram.terms`) or over a frame
(:meth:`OfferProgram.terms_frame`). Turning the terms into a limit, a price under the rate cap
and a schedule is the lending layer's job (:mod:`ruleplus.lending.offers`), which this package
does not import.

Every number of the section may instead be an expression (text), e.g. a declared parameter's
name, so a deployment's overrides move limits, prices and the cap without a new version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ruleplus.errors import ExpressionError, StrategyCompileError
from ruleplus.expr import CompiledExpression, Kind, Ty, compile_expression

__all__ = [
    "OfferDoc",
    "OfferFeeDoc",
    "OfferLimitDoc",
    "OfferPriceDoc",
    "OfferProgram",
    "ScoreBandDoc",
    "compile_offer",
]

Number = float | str
"""A number, or an expression (text) giving one."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OfferFeeDoc(_Model):
    """A fee: upfront (withheld from the amount paid out) or periodic (with every instalment)."""

    name: str = "fee"
    kind: Literal["upfront", "periodic"]
    amount: Number | None = Field(default=None, description="a fixed amount")
    rate: Number | None = Field(default=None, description="a fraction of the principal")


class OfferPriceDoc(_Model):
    """The price of one grade: the nominal annual rate and the grade's own fees."""

    rate: Number = Field(description="nominal annual rate as a fraction (0.18 is 18%)")
    fees: list[OfferFeeDoc] = Field(default_factory=list)


class ScoreBandDoc(_Model):
    """A score band: applicants scoring at least ``min`` get at most ``max_amount``."""

    min: float
    max_amount: Number


class OfferLimitDoc(_Model):
    """The credit limit: the smallest of the parts given."""

    income: str | None = Field(default=None, description="expression: monthly income")
    income_multiple: Number | None = Field(
        default=None, description="limit = monthly income x this"
    )
    debt: str | None = Field(
        default=None, description="expression: existing monthly debt service (DTI headroom)"
    )
    max_dti: Number | None = Field(
        default=None,
        description="(debt + the new instalment) / income at most this: the DTI headroom",
    )
    score: str | None = Field(default=None, description="expression: the score of the bands")
    score_bands: list[ScoreBandDoc] = Field(default_factory=list)
    by_grade: dict[str, Number] = Field(default_factory=dict, description="grade -> maximum")
    maximum: Number | None = Field(default=None, description="the policy maximum")
    minimum: Number = Field(default=0, description="a smaller limit declines the offer")
    round_to: float = Field(default=1, gt=0, description="limits are rounded down to this")


class OfferDoc(_Model):
    """What an approved application is offered: a limit, a price under the cap, a schedule."""

    when: str = Field(default='decision == "approve"', description="expression: who gets an offer")
    amount: str = Field(description="expression: the amount asked for")
    months: str = Field(description="expression: the term asked for, in months")
    grade: str | None = Field(default=None, description="expression: the grade priced")
    method: Literal["equal-installment", "equal-principal", "interest-only", "bullet"] = (
        "equal-installment"
    )
    day_count: Literal["30/360", "actual/365", "actual/360"] = "30/360"
    prices: dict[str, OfferPriceDoc] = Field(
        min_length=1, description="grade -> price; '*' prices any other grade"
    )
    fees: list[OfferFeeDoc] = Field(default_factory=list, description="fees of every grade")
    limit: OfferLimitDoc = Field(default_factory=OfferLimitDoc)
    cap: Number | None = Field(
        default=None,
        description="cap on the fee-inclusive annualised rate (IRR); default: the rate_cap "
        "setting (24%)",
    )
    over_cap: Literal["reprice", "decline"] = Field(
        default="reprice",
        description="above the cap: lower the nominal rate to the cap, or decline the offer",
    )


def _number_slots(doc: OfferDoc) -> dict[tuple[Any, ...], Number | None]:
    slots: dict[tuple[Any, ...], Number | None] = {("cap",): doc.cap}
    limit = doc.limit
    for name in ("income_multiple", "max_dti", "maximum", "minimum"):
        slots[("limit", name)] = getattr(limit, name)
    for i, band in enumerate(limit.score_bands):
        slots[("limit", "score_bands", i, "max_amount")] = band.max_amount
    for grade, value in limit.by_grade.items():
        slots[("limit", "by_grade", grade)] = value
    for grade, price in doc.prices.items():
        slots[("prices", grade, "rate")] = price.rate
        for i, fee in enumerate(price.fees):
            slots[("prices", grade, "fees", i, "amount")] = fee.amount
            slots[("prices", grade, "fees", i, "rate")] = fee.rate
    for i, fee in enumerate(doc.fees):
        slots[("fees", i, "amount")] = fee.amount
        slots[("fees", i, "rate")] = fee.rate
    return slots


def _key(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


@dataclass
class OfferProgram:
    """The compiled ``offer:`` section of one strategy variant.

    Attributes
    ----------
    doc : OfferDoc
        The section.
    constants : dict
        Terms that are plain numbers (slot -> value).
    expressions : dict
        Terms that are expressions (slot -> compiled expression).
    parameters : dict
        The parameter values the expressions read.
    """

    doc: OfferDoc
    constants: dict[str, Any]
    expressions: dict[str, CompiledExpression]
    when: CompiledExpression
    parameters: dict[str, Any]

    def terms(self, record: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any] | None:
        """Every term of the offer for one decided application; None when ``when`` is false.

        Parameters
        ----------
        record : mapping
            The application (the strategy's inputs).
        outputs : mapping
            The decision's outputs.

        Returns
        -------
        dict or None
            Slot -> value: ``amount``, ``months``, ``grade``, ``cap``, ``limit.income``,
            ``prices.A.rate``, ``fees.0.rate``… (null where an expression gave null or the
            document gives nothing).
        """
        env = {**record, **outputs, **self.parameters}
        if self.when(env) is not True:
            return None
        out = dict(self.constants)
        for slot, expression in self.expressions.items():
            out[slot] = expression(env)
        return out

    def terms_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The terms of every row of ``frame`` (inputs and outputs as columns), plus a boolean
        ``_offer`` column (``when``); the vector twin of :meth:`terms`."""
        if self.parameters:
            frame = frame.with_columns(pl.lit(v).alias(k) for k, v in self.parameters.items())
        columns = [self.when.to_polars().fill_null(False).alias("_offer")]
        columns += [e.to_polars().alias(slot) for slot, e in self.expressions.items()]
        columns += [pl.lit(v).alias(slot) for slot, v in self.constants.items()]
        return frame.select(columns)


def compile_offer(
    doc: OfferDoc,
    env: Mapping[str, Ty],
    parameters: Mapping[str, Any],
    *,
    strategy: str,
    file: str | None,
    line_of: Any,
) -> OfferProgram:
    """Type-check the expressions of an ``offer:`` section over ``env`` (inputs, outputs and
    parameters) and compile them.

    Raises
    ------
    StrategyCompileError
        An expression that does not compile or gives the wrong type, naming its slot and line.
    """

    def compile_slot(path: tuple[Any, ...], text: str, kinds: set[Kind]) -> CompiledExpression:
        where = _key(("offer", *path))
        try:
            compiled = compile_expression(text, env)
        except ExpressionError as exc:
            raise StrategyCompileError(
                f"{where}: {exc.message}",
                strategy=strategy,
                file=file,
                line=line_of("offer", *path),
                field=where,
            ) from None
        if kinds and compiled.ty.kind not in kinds | {Kind.NULL}:
            expected = " or ".join(sorted(k.name.lower() for k in kinds))
            raise StrategyCompileError(
                f"{where}: expected {expected}, the expression gives {compiled.ty}",
                strategy=strategy,
                file=file,
                line=line_of("offer", *path),
                field=where,
            )
        return compiled

    numeric = {Kind.INTEGER, Kind.NUMBER}
    constants: dict[str, Any] = {}
    expressions: dict[str, CompiledExpression] = {}
    fixed: list[tuple[tuple[Any, ...], str, set[Kind]]] = [
        (("amount",), doc.amount, numeric),
        (("months",), doc.months, numeric),
    ]
    if doc.grade is not None:
        fixed.append((("grade",), doc.grade, set()))
    for name in ("income", "debt", "score"):
        text = getattr(doc.limit, name)
        if text is not None:
            fixed.append((("limit", name), text, numeric))
    for path, text, kinds in fixed:
        expressions[_key(path)] = compile_slot(path, text, kinds)
    for path, value in _number_slots(doc).items():
        if isinstance(value, str):
            expressions[_key(path)] = compile_slot(path, value, numeric)
        else:
            constants[_key(path)] = value
    when = compile_slot(("when",), doc.when, {Kind.BOOLEAN})
    return OfferProgram(doc, constants, expressions, when, dict(parameters))
