"""Lending: offers (limits, risk-based prices under the rate cap, repayment schedules) and the
loan after approval (delinquency buckets, roll rates, vintages, behaviour scores, collections,
marketing lists)."""

from __future__ import annotations

from ruleplus.lending.delinquency import BUCKETS
from ruleplus.lending.rollrate import RollRates, roll_rates
from ruleplus.lending.status_data import StatusColumns, StatusData, read_status, status_data
from ruleplus.lending.vintage import Vintages, vintages

__all__: list[str] = [
    "BUCKETS",
    "RollRates",
    "StatusColumns",
    "StatusData",
    "Vintages",
    "read_status",
    "roll_rates",
    "status_data",
    "vintages",
]
