"""ZEN date objects: ``d("2023-01-15")``, ``d().add(1, "d")``, ``.format("%Y")``, ``.diff(...)``.

A :class:`ZenDate` wraps a timezone-aware datetime (UTC unless ``.tz(...)`` moves it); numbers
are Unix milliseconds as in zen; the text form is RFC 3339 to the second (``...T00:00:00Z``).
An unparseable date is an invalid date (``isValid()`` is false), not an error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruleplus.expr.zen._values import CLOCK, ZenRuntimeError, type_name

__all__ = ["METHODS", "ZenDate", "make_date"]

_UNITS = {
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), "s"),
    **dict.fromkeys(("minutes", "minute", "min", "mins", "m"), "m"),
    **dict.fromkeys(("hours", "hour", "hr", "hrs", "h"), "h"),
    **dict.fromkeys(("days", "day", "d"), "d"),
    **dict.fromkeys(("weeks", "week", "w"), "w"),
    **dict.fromkeys(("months", "month", "mo", "M"), "M"),
    **dict.fromkeys(("quarters", "quarter", "qtr", "q"), "q"),
    **dict.fromkeys(("years", "year", "y"), "y"),
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ZenDate:
    """A date-time value (``None`` inside: an invalid date)."""

    __slots__ = ("moment",)
    zen_type = "date"

    def __init__(self, moment: dt.datetime | None) -> None:
        self.moment = moment

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ZenDate) and self.moment is not None and self.moment == (other.moment)
        )

    def __hash__(self) -> int:
        return hash(self.moment)

    def to_json(self) -> str:
        """RFC 3339 to the second, ``Z`` for UTC."""
        if self.moment is None:
            return "Invalid date"
        text = self.moment.isoformat(timespec="seconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def __str__(self) -> str:
        return self.to_json()


def _unit(value: Any) -> str:
    if isinstance(value, str) and value in _UNITS:
        return _UNITS[value]
    raise ZenRuntimeError(f"unknown date unit {value!r}")


def _parse(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None:
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        try:  # a time zone name: now, there
            return CLOCK[0]().astimezone(ZoneInfo(text))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def make_date(*args: Any) -> ZenDate:
    """``d()``: now; ``d(text)``; ``d(milliseconds)``; ``d(date)``; a second argument is a zone."""
    zone: dt.tzinfo = dt.UTC
    if len(args) > 1 and args[1] is not None:
        zone = _zone(args[1])
    if not args or args[0] is None:
        return ZenDate(CLOCK[0]().astimezone(zone))
    value = args[0]
    if isinstance(value, ZenDate):
        return value
    if isinstance(value, Decimal):
        return ZenDate(dt.datetime.fromtimestamp(int(value) / 1000, zone))
    if isinstance(value, str):
        moment = _parse(value)
        return ZenDate(moment.astimezone(zone) if moment is not None else None)
    raise ZenRuntimeError(f"d(): cannot make a date of a {type_name(value)}")


def _zone(name: Any) -> dt.tzinfo:
    if not isinstance(name, str):
        raise ZenRuntimeError("tz(): expected a time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZenRuntimeError(f"unknown time zone {name!r}") from None


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _shift(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit in _SECONDS:
        return moment + dt.timedelta(seconds=amount * _SECONDS[unit])
    months = {"M": 1, "q": 3, "y": 12}[unit] * amount
    return _add_months(moment, months)


_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)\s*([A-Za-z]+)")


def _duration(text: str) -> list[tuple[int, str]]:
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise ZenRuntimeError(f"cannot read the duration {text!r}")
    return [(int(Decimal(n)), _unit(u)) for n, u in parts]


def _start_of(moment: dt.datetime, unit: str) -> dt.datetime:
    m = moment.replace(microsecond=0)
    if unit == "s":
        return m
    if unit == "m":
        return m.replace(second=0)
    if unit == "h":
        return m.replace(minute=0, second=0)
    day = m.replace(hour=0, minute=0, second=0)
    if unit == "d":
        return day
    if unit == "w":
        return day - dt.timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=1)
    if unit == "q":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _end_of(moment: dt.datetime, unit: str) -> dt.datetime:
    if unit in ("s", "m", "h", "d"):
        nxt = _start_of(moment, unit) + dt.timedelta(seconds=_SECONDS[unit])
    elif unit == "w":
        nxt = _start_of(moment, "w") + dt.timedelta(days=7)
    else:
        nxt = _add_months(_start_of(moment, unit), {"M": 1, "q": 3, "y": 12}[unit])
    return nxt - dt.timedelta(microseconds=1)


def _month_diff(a: dt.datetime, b: dt.datetime) -> float:
    if a.day < b.day:
        return -_month_diff(b, a)
    whole = (b.year - a.year) * 12 + (b.month - a.month)
    anchor = _add_months(a, whole)
    behind = b < anchor
    anchor2 = _add_months(a, whole + (-1 if behind else 1))
    num = (b - anchor).total_seconds()
    den = (anchor - anchor2).total_seconds() if behind else (anchor2 - anchor).total_seconds()
    return -(whole + (num / den if den else 0.0))


def _diff(a: dt.datetime, b: dt.datetime, unit: str | None) -> Decimal:
    ms = (a - b) // dt.timedelta(milliseconds=1)
    if unit is None:
        return Decimal(ms)
    if unit in ("M", "q", "y"):
        value = _month_diff(a, b) / {"M": 1, "q": 3, "y": 12}[unit]
    else:
        zone_delta = (b.utcoffset() or dt.timedelta()) - (a.utcoffset() or dt.timedelta())
        shift = zone_delta // dt.timedelta(milliseconds=1) if unit in ("d", "w") else 0
        value = (ms - shift) / (_SECONDS[unit] * 1000)
    return Decimal(int(value))


def _same(a: dt.datetime, b: dt.datetime, unit: str | None) -> bool:
    if unit is None:
        return a == b
    return _start_of(a, unit) == _start_of(b.astimezone(a.tzinfo), unit)


Method = Callable[..., Any]


def _need(date: ZenDate) -> dt.datetime:
    if date.moment is None:
        raise ZenRuntimeError("invalid date")
    return date.moment


def _other(value: Any) -> dt.datetime | None:
    return make_date(value).moment


def _add(sign: int) -> Method:
    def run(date: ZenDate, amount: Any, unit: Any = None) -> ZenDate:
        moment = date.moment
        if moment is None:
            return date
        if isinstance(amount, str) and unit is None:
            for n, u in _duration(amount):
                moment = _shift(moment, sign * n, u)
            return ZenDate(moment)
        if not isinstance(amount, Decimal):
            raise ZenRuntimeError("add(): expected a number and a unit, or a duration text")
        return ZenDate(_shift(moment, sign * int(amount), _unit(unit)))

    return run


def _set(date: ZenDate, unit: Any, value: Any) -> ZenDate:
    moment = _need(date)
    u = _unit(unit)
    if not isinstance(value, Decimal):
        raise ZenRuntimeError("set(): expected a number")
    n = int(value)
    setters: dict[str, Callable[[dt.datetime], dt.datetime]] = {
        "s": lambda m: m.replace(second=n),
        "m": lambda m: m.replace(minute=n),
        "h": lambda m: m.replace(hour=n),
        "d": lambda m: m.replace(day=n),
        "M": lambda m: m.replace(month=n),
        "y": lambda m: m.replace(year=n),
    }
    if u not in setters:
        raise ZenRuntimeError(f"set(): cannot set {unit!r}")
    try:
        return ZenDate(setters[u](moment))
    except ValueError:
        return ZenDate(None)


def _part(get: Callable[[dt.datetime], int]) -> Method:
    return lambda date: Decimal(get(_need(date)))


def _compare(test: Callable[[dt.datetime, dt.datetime], bool]) -> Method:
    def run(date: ZenDate, other: Any, unit: Any = None) -> bool:
        a, b = date.moment, _other(other)
        if a is None or b is None:
            return False
        if unit is not None:
            u = _unit(unit)
            a, b = _start_of(a, u), _start_of(b.astimezone(a.tzinfo), u)
        return test(a, b)

    return run


def _relative(days: int) -> Method:
    def run(date: ZenDate) -> bool:
        moment = date.moment
        if moment is None:
            return False
        today = CLOCK[0]().astimezone(moment.tzinfo)
        return _same(moment, today + dt.timedelta(days=days), "d")

    return run


METHODS: dict[str, Method] = {
    "add": _add(1),
    "sub": _add(-1),
    "set": _set,
    "format": lambda date, fmt=None: (
        date.to_json()
        if date.moment is None
        else date.moment.strftime(fmt)
        if isinstance(fmt, str)
        else date.moment.strftime("%Y-%m-%d %H:%M:%S %Z")
    ),
    "startOf": lambda date, unit: ZenDate(_start_of(_need(date), _unit(unit))),
    "endOf": lambda date, unit: ZenDate(_end_of(_need(date), _unit(unit))),
    "diff": lambda date, other, unit=None: _diff(
        _need(date), _other(other) or _need(ZenDate(None)), None if unit is None else _unit(unit)
    ),
    "tz": lambda date, name: ZenDate(_need(date).astimezone(_zone(name))),
    "year": _part(lambda m: m.year),
    "month": _part(lambda m: m.month),
    "day": _part(lambda m: m.day),
    "hour": _part(lambda m: m.hour),
    "minute": _part(lambda m: m.minute),
    "second": _part(lambda m: m.second),
    "dayOfYear": _part(lambda m: m.timetuple().tm_yday),
    "week": _part(lambda m: m.isocalendar()[1]),
    "weekday": _part(lambda m: m.isoweekday()),
    "quarter": _part(lambda m: (m.month - 1) // 3 + 1),
    "timestamp": _part(lambda m: int(m.timestamp() * 1000)),
    "offsetName": lambda date: str(_need(date).tzinfo),
    "isSame": _compare(lambda a, b: a == b),
    "isBefore": _compare(lambda a, b: a < b),
    "isAfter": _compare(lambda a, b: a > b),
    "isSameOrBefore": _compare(lambda a, b: a <= b),
    "isSameOrAfter": _compare(lambda a, b: a >= b),
    "isValid": lambda date: date.moment is not None,
    "isToday": _relative(0),
    "isYesterday": _relative(-1),
    "isTomorrow": _relative(1),
    "isLeapYear": lambda date: calendar.isleap(_need(date).year),
}
"""Date method name -> implementation (the date first)."""
