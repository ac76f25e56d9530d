"""Lending: offers (limits, risk-based prices under the rate cap, repayment schedules) and the
loan after approval (delinquency buckets, roll rates, vintages, behaviour scores, collections,
marketing lists)."""

from __future__ import annotations

__all__: list[str] = []
