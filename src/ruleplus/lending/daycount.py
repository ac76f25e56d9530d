"""Due dates and day counts.

Due dates keep the day of the month of the disbursement, moved to the month's last day where
the month is shorter (31 January -> 28 or 29 February -> 31 March): each date is computed from
the start, never from the previous due date, so a short February does not drag later dates.

Day counts give the fraction of a year a period's interest covers:

- ``30/360``: every monthly period is exactly 1/12 of a year (the level-payment convention;
  :func:`days_30_360` gives the ISDA bond-basis day count for partial periods);
- ``actual/365``: actual days / 365 (leap years included in the days, not in the basis);
- ``actual/360``: actual days / 360.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Literal, get_args

from ruleplus.errors import DataError

__all__ = [
    "DAY_COUNTS",
    "DayCount",
    "add_months",
    "day_count",
    "days_30_360",
    "due_dates",
    "year_fraction",
]

DayCount = Literal["30/360", "actual/365", "actual/360"]
DAY_COUNTS: tuple[str, ...] = get_args(DayCount)


def day_count(value: str, field: str = "day_count") -> DayCount:
    """``value`` checked as one of :data:`DAY_COUNTS`."""
    if value not in DAY_COUNTS:
        raise DataError(
            f"{field} must be one of {', '.join(DAY_COUNTS)}, got {value!r}", field=field
        )
    return value  # type: ignore[return-value]  # checked against the literal's values


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the target month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]
    return date(year, month, min(start.day, last))


def due_dates(start: date, months: int) -> list[date]:
    """The ``months`` monthly due dates after a disbursement on ``start``."""
    return [add_months(start, k) for k in range(1, months + 1)]


def days_30_360(start: date, end: date) -> int:
    """Days from ``start`` to ``end`` by the 30/360 bond basis (ISDA)."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


def year_fraction(start: date, end: date, convention: DayCount) -> tuple[int, int]:
    """The fraction of a year from ``start`` to ``end`` (one monthly period) under
    ``convention``, as ``(numerator, denominator)``: ``30/360`` is exactly ``(1, 12)``.

    A pair, not a ``Decimal``: interest is ``balance * rate * numerator / denominator`` with the
    division last, so a half cent is a half cent (1/12 as a decimal is not exact).
    """
    if convention == "30/360":
        return 1, 12
    return (end - start).days, 365 if convention == "actual/365" else 360
