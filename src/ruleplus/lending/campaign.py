"""Pre-approved offer lists: who among existing customers gets an offer, for how much, at what
price.

A campaign strategy decides each customer: its rules are the eligibility (``decision``
``approve``; anything else is not eligible), one output is the response / propensity score
(``propensity`` by default, higher = likelier to take the offer), and its ``offer:`` section
gives the limit and the risk-based price, kept under the annualised-rate cap by the offers
module (:func:`ruleplus.lending.offers.make_offer`: re-priced down to the cap, or declined with
a reason). Eligible customers with an offer are ranked by propensity (ties: customer id),
optionally cut at a minimum propensity or the first ``top``; the result is the campaign file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import polars as pl

from ruleplus.decision import CompiledStrategy
from ruleplus.errors import DataError
from ruleplus.lending.offers import Offer, OfferDecline, make_offer

__all__ = ["Campaign", "CampaignEntry", "build_campaign"]


@dataclass(frozen=True)
class CampaignEntry:
    """One customer of the campaign list.

    Attributes
    ----------
    rank : int
        1 = highest propensity.
    customer_id : str
        Customer key.
    propensity : float
        Response / propensity score.
    offer : Offer
        The pre-approved offer (amount = the limit unless the strategy asks for less).
    """

    rank: int
    customer_id: str
    propensity: float
    offer: Offer

    def to_row(self) -> dict[str, Any]:
        """One line of the campaign file (money and rates as exact decimal text)."""
        s = self.offer.schedule
        first = s.instalments[0].payment if s.instalments else Decimal(0)
        return {
            "rank": self.rank,
            "customer_id": self.customer_id,
            "propensity": self.propensity,
            "grade": self.offer.grade,
            "offer_amount": str(s.amount),
            "months": s.months,
            "nominal_rate": str(s.annual_rate),
            "apr_irr": str(self.offer.apr_irr),
            "cap": str(self.offer.cap),
            "repriced": self.offer.repriced,
            "first_payment": str(first),
            "total_interest": str(s.total_interest),
        }


@dataclass(frozen=True)
class Campaign:
    """A campaign list and what was left out.

    Attributes
    ----------
    entries : list of CampaignEntry
        Offered customers, best first.
    customers : int
        Customers considered.
    ineligible : int
        Not approved by the eligibility rules (no offer made).
    declined : dict of str to int
        Offers declined, by reason code (e.g. ``OFFER_CAP``).
    below_cut : int
        Eligible with an offer, but under ``min_propensity`` or past ``top``.
    """

    entries: list[CampaignEntry]
    customers: int
    ineligible: int
    declined: dict[str, int] = field(default_factory=dict)
    below_cut: int = 0

    def frame(self) -> pl.DataFrame:
        """The campaign file's rows."""
        rows = [e.to_row() for e in self.entries]
        schema = {
            "rank": pl.Int64,
            "customer_id": pl.String,
            "propensity": pl.Float64,
            "grade": pl.String,
            "offer_amount": pl.String,
            "months": pl.Int64,
            "nominal_rate": pl.String,
            "apr_irr": pl.String,
            "cap": pl.String,
            "repriced": pl.Boolean,
            "first_payment": pl.String,
            "total_interest": pl.String,
        }
        return pl.DataFrame(rows, schema=schema)

    def write(self, path: str | Path) -> Path:
        """Write the campaign file (CSV, Parquet, JSON lines… by extension)."""
        from ruleplus.datasets import write_table

        write_table(self.frame(), path)
        return Path(path)

    def summary(self) -> dict[str, Any]:
        """Counts and the total amount offered (decimal text)."""
        total = sum((e.offer.schedule.amount for e in self.entries), Decimal(0))
        return {
            "customers": self.customers,
            "offered": len(self.entries),
            "ineligible": self.ineligible,
            "declined": dict(sorted(self.declined.items())),
            "below_cut": self.below_cut,
            "total_offered": str(total),
        }


def _records(customers: pl.DataFrame | Iterable[Mapping[str, Any]] | Any) -> list[dict[str, Any]]:
    if isinstance(customers, pl.DataFrame):
        return customers.to_dicts()
    if hasattr(customers, "to_dict") and hasattr(customers, "columns"):
        return cast(list[dict[str, Any]], customers.to_dict("records"))
    return [dict(r) for r in customers]


def build_campaign(
    customers: pl.DataFrame | Iterable[Mapping[str, Any]] | Any,
    strategy: CompiledStrategy,
    *,
    customer_col: str = "customer_id",
    propensity: str = "propensity",
    min_propensity: float | None = None,
    top: int | None = None,
    default_cap: Decimal | None = None,
    start: date | None = None,
) -> Campaign:
    """The pre-approved offer list of ``customers``.

    Parameters
    ----------
    customers : polars.DataFrame, pandas.DataFrame or iterable of mappings
        One row per customer: ``customer_col`` and the strategy's inputs.
    strategy : CompiledStrategy
        Eligibility rules, a ``propensity`` output and an ``offer:`` section.
    customer_col : str, default="customer_id"
        Customer key column.
    propensity : str, default="propensity"
        The strategy output ranking the list.
    min_propensity : float, optional
        Leave out customers below it.
    top : int, optional
        Keep the first ``top``.
    default_cap : Decimal, optional
        Cap when the offer section names none (default: the ``rate_cap`` setting).
    start : date, optional
        Disbursement date of the offers' schedules (default today).

    Raises
    ------
    DataError
        No offer section, no propensity output, a missing customer key, or a customer the
        strategy cannot evaluate (naming it).
    """
    if strategy.offer is None:
        raise DataError(f"strategy {strategy.id!r} has no offer section", field="offer")
    if propensity not in strategy.outputs:
        raise DataError(
            f"strategy {strategy.id!r} does not output {propensity!r}", field="propensity"
        )
    if top is not None and top < 1:
        raise DataError("top must be at least 1", field="top")
    if default_cap is None:
        from ruleplus.config import Settings

        default_cap = Settings.load().rate_cap
    rows = _records(customers)
    offered: list[tuple[float, str, Offer]] = []
    declined: dict[str, int] = {}
    ineligible = 0
    for row in rows:
        key = row.get(customer_col)
        if key is None:
            raise DataError(f"a customer has no {customer_col!r}", field=customer_col)
        decision = strategy.evaluate(row)
        result = make_offer(strategy, row, decision.outputs, default_cap=default_cap, start=start)
        if result is None:
            ineligible += 1
            continue
        if isinstance(result, OfferDecline):
            declined[result.code] = declined.get(result.code, 0) + 1
            continue
        score = decision.outputs.get(propensity)
        if not isinstance(score, int | float) or isinstance(score, bool):
            raise DataError(
                f"propensity of customer {key!r} is {score!r}; expected a number",
                field=propensity,
            )
        offered.append((float(score), str(key), result))
    offered.sort(key=lambda t: (-t[0], t[1]))
    kept = [t for t in offered if min_propensity is None or t[0] >= min_propensity]
    if top is not None:
        kept = kept[:top]
    entries = [CampaignEntry(k, cid, p, o) for k, (p, cid, o) in enumerate(kept, start=1)]
    return Campaign(entries, len(rows), ineligible, declined, len(offered) - len(kept))
