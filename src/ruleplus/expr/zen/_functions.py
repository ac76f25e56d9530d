"""ZEN's built-in function library, with zen's argument checks (a wrong type is an error).

Dates follow zen's deprecated numeric API: ``date("2023-01-01")`` is a Unix timestamp in
seconds (UTC), ``time("12:30")`` seconds since midnight; ``year(ts)``, ``dayOfWeek(ts)``… read
one back. The current time comes from :data:`CLOCK` so that tests can pin it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from ruleplus.expr.zen._dates import ZenDate, make_date
from ruleplus.expr.zen._values import CLOCK, CTX, ZenRuntimeError, fit, type_name

__all__ = ["CLOCK", "FUNCTIONS", "string_of", "to_bool"]


Fn = Callable[..., Any]
_UTC = dt.UTC


def _num(name: str, value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise ZenRuntimeError(f"{name}(): expected a number, got {type_name(value)}")


def _str(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ZenRuntimeError(f"{name}(): expected a string, got {type_name(value)}")


def _arr(name: str, value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise ZenRuntimeError(f"{name}(): expected an array, got {type_name(value)}")


def _numbers(name: str, value: Any) -> list[Decimal]:
    return [_num(name, v) for v in _arr(name, value)]


def string_of(value: Any) -> str:
    """zen's ``string()``: null, booleans, numbers and strings; anything else is an error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    if isinstance(value, ZenDate):
        return value.to_json()
    raise ZenRuntimeError(f"cannot convert type {type_name(value)} to string")


def to_bool(value: Any) -> bool:
    """zen's ``bool()``."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    if isinstance(value, str):
        text = value.strip()
        if text == "true":
            return True
        if text == "false":
            return False
        return value == ""
    return True


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, str):
        try:
            out = Decimal(value.strip())
        except ArithmeticError:
            raise ZenRuntimeError(f"number(): {value!r} is not a number") from None
        if not out.is_finite():
            raise ZenRuntimeError(f"number(): {value!r} is not a number")
        return out
    raise ZenRuntimeError(f"cannot convert type {type_name(value)} to number")


def _is_numeric(value: Any) -> bool:
    if isinstance(value, Decimal):
        return True
    if isinstance(value, str):
        try:
            return Decimal(value.strip()).is_finite()
        except ArithmeticError:
            return False
    return False


_UNSET: Any = object()


def _places(name: str, places: Any) -> int:
    if places is _UNSET:  # omitted; an explicit null is an error, as in zen
        return 0
    number = _num(name, places)
    dp = int(number)
    if number.is_signed() or dp > 2**32 - 1:  # zen: -0 is no count of places either
        raise ZenRuntimeError(f"{name}(): invalid number of decimal places")
    return dp


def _round(value: Any, places: Any = _UNSET) -> Decimal:
    number = _num("round", value)
    dp = _places("round", places)
    exponent = number.as_tuple().exponent
    if (isinstance(exponent, int) and -exponent <= dp) or dp > 28:
        return number  # already that precise: zen keeps the number's own scale
    return number.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP, context=CTX)


def _trunc(value: Any, places: Any = _UNSET) -> Decimal:
    number = _num("trunc", value)
    dp = _places("trunc", places)
    return number.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_DOWN, context=CTX)


def _len(value: Any) -> Decimal:
    if isinstance(value, str | list):
        return Decimal(len(value))
    raise ZenRuntimeError(f"len(): expected a string or an array, got {type_name(value)}")


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, str):
        return _str("contains", needle) in haystack
    if isinstance(haystack, list):
        return any(_same(item, needle) for item in haystack)
    raise ZenRuntimeError(f"contains(): expected a string or an array, got {type_name(haystack)}")


def _same(a: Any, b: Any) -> bool:
    """contains()'s equality: numbers, strings, booleans and null only (never arrays)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal | str) and type(a) is type(b):
        return bool(a == b)
    return False


def _avg(values: Any) -> Decimal | None:
    numbers = _numbers("avg", values)
    if not numbers:
        raise ZenRuntimeError("avg(): empty array")
    return fit(CTX.divide(sum(numbers, Decimal(0)), Decimal(len(numbers))))


def _median(values: Any) -> Decimal:
    numbers = sorted(_numbers("median", values))
    if not numbers:
        raise ZenRuntimeError("median(): empty array")
    mid = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[mid]
    return fit(CTX.divide(numbers[mid - 1] + numbers[mid], Decimal(2)))


def _mode(values: Any) -> Decimal:
    numbers = _numbers("mode", values)
    if not numbers:
        raise ZenRuntimeError("mode(): empty array")
    counts: dict[Decimal, int] = {}
    for n in numbers:
        counts[n] = counts.get(n, 0) + 1
    best = max(counts.values())
    return next(n for n in numbers if counts[n] == best)


def _extreme(name: str, pick: Callable[..., Any]) -> Fn:
    def fn(values: Any) -> Any:
        items = _arr(name, values)
        if not items:
            raise ZenRuntimeError(f"{name}(): empty array")
        if all(isinstance(i, ZenDate) and i.moment is not None for i in items):
            return pick(items, key=lambda i: i.moment)
        return pick(_numbers(name, items))

    return fn


def _flatten(values: Any) -> list[Any]:
    out: list[Any] = []
    for item in _arr("flatten", values):
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


def _keys(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return [Decimal(i) for i in range(len(value))]
    raise ZenRuntimeError(f"keys(): expected an object or an array, got {type_name(value)}")


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    raise ZenRuntimeError(f"values(): expected an object, got {type_name(value)}")


def _matches(text: Any, pattern: Any) -> bool:
    return re.search(_str("matches", pattern), _str("matches", text)) is not None


def _extract(text: Any, pattern: Any) -> list[Any]:
    found = re.search(_str("extract", pattern), _str("extract", text))
    if found is None:
        return []
    return [found.group(0), *[g or "" for g in found.groups()]]


def _split(text: Any, sep: Any) -> list[Any]:
    separator = _str("split", sep)
    source = _str("split", text)
    if separator == "":
        return ["", *list(source), ""]
    return list(source.split(separator))


def _merge(values: Any) -> Any:
    items = [v for v in _arr("merge", values) if v is not None]
    if not items:
        return {}
    if isinstance(items[0], list):
        merged: list[Any] = []
        for item in items:
            merged.extend(_arr("merge", item))
        return merged
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ZenRuntimeError("merge(): expected an array of objects")
        out.update(item)
    return out


# dates (zen's deprecated numeric API) ----------------------------------------------------------
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _parse_datetime(text: str) -> dt.datetime:
    if text == "now":
        return CLOCK[0]().astimezone(_UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in _DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ZenRuntimeError(f"date(): cannot parse {text!r}")
    return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        return _parse_datetime(value)
    if isinstance(value, Decimal):
        return dt.datetime.fromtimestamp(int(value), _UTC)
    raise ZenRuntimeError(f"expected a date or a timestamp, got {type_name(value)}")


def _date(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return Decimal(int(value))
    return Decimal(int(_as_datetime(_str("date", value)).timestamp()))


def _time(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return Decimal(int(value))
    text = _str("time", value)
    if text == "now":
        now = CLOCK[0]().astimezone(_UTC)
        return Decimal(now.hour * 3600 + now.minute * 60 + now.second)
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            t = dt.datetime.strptime(text, fmt)
            return Decimal(t.hour * 3600 + t.minute * 60 + t.second)
        except ValueError:
            continue
    moment = _parse_datetime(text)
    return Decimal(moment.hour * 3600 + moment.minute * 60 + moment.second)


_DURATION_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def _duration(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return Decimal(int(value))
    total = 0
    found = re.findall(r"(\d+)\s*([a-z]+)", _str("duration", value))
    if not found:
        raise ZenRuntimeError(f"duration(): cannot parse {value!r}")
    for amount, unit in found:
        if unit not in _DURATION_UNITS:
            raise ZenRuntimeError(f"duration(): unknown unit {unit!r}")
        total += int(amount) * _DURATION_UNITS[unit]
    return Decimal(total)


def _date_part(part: Callable[[dt.datetime], Any]) -> Fn:
    def fn(value: Any) -> Any:
        out = part(_as_datetime(value))
        return Decimal(out) if isinstance(out, int) else out

    return fn


def _start_of(value: Any, unit: Any) -> Decimal:
    moment = _as_datetime(value)
    u = _str("startOf", unit)
    if u in ("d", "day", "days"):
        moment = moment.replace(hour=0, minute=0, second=0)
    elif u in ("w", "week", "weeks"):
        moment = (moment - dt.timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0)
    elif u in ("M", "month", "months"):
        moment = moment.replace(day=1, hour=0, minute=0, second=0)
    elif u in ("y", "year", "years"):
        moment = moment.replace(month=1, day=1, hour=0, minute=0, second=0)
    elif u in ("h", "hour", "hours"):
        moment = moment.replace(minute=0, second=0)
    elif u in ("m", "minute", "minutes"):
        moment = moment.replace(second=0)
    else:
        raise ZenRuntimeError(f"startOf(): unknown unit {u!r}")
    return Decimal(int(moment.replace(microsecond=0).timestamp()))


def _end_of(value: Any, unit: Any) -> Decimal:
    start = int(_start_of(value, unit))
    moment = dt.datetime.fromtimestamp(start, _UTC)
    u = _str("endOf", unit)
    if u in ("d", "day", "days"):
        nxt = moment + dt.timedelta(days=1)
    elif u in ("w", "week", "weeks"):
        nxt = moment + dt.timedelta(days=7)
    elif u in ("M", "month", "months"):
        nxt = (moment.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    elif u in ("y", "year", "years"):
        nxt = moment.replace(year=moment.year + 1)
    elif u in ("h", "hour", "hours"):
        nxt = moment + dt.timedelta(hours=1)
    else:
        nxt = moment + dt.timedelta(minutes=1)
    return Decimal(int(nxt.timestamp()) - 1)


def _rand(upper: Any) -> Decimal:
    return Decimal(random.randint(0, int(_num("rand", upper))))


def _floor(value: Any) -> Decimal:
    return _num("floor", value).to_integral_value(rounding=ROUND_FLOOR)


def _ceil(value: Any) -> Decimal:
    return _num("ceil", value).to_integral_value(rounding=ROUND_CEILING)


FUNCTIONS: dict[str, tuple[Fn, int, int]] = {
    # name: (implementation, fewest arguments, most arguments)
    "len": (_len, 1, 1),
    "contains": (_contains, 2, 2),
    "flatten": (_flatten, 1, 1),
    "merge": (_merge, 1, 1),
    "upper": (lambda s: _str("upper", s).upper(), 1, 1),
    "lower": (lambda s: _str("lower", s).lower(), 1, 1),
    "trim": (lambda s: _str("trim", s).strip(), 1, 1),
    "startsWith": (lambda s, p: _str("startsWith", s).startswith(_str("startsWith", p)), 2, 2),
    "endsWith": (lambda s, p: _str("endsWith", s).endswith(_str("endsWith", p)), 2, 2),
    "matches": (_matches, 2, 2),
    "extract": (_extract, 2, 2),
    "split": (_split, 2, 2),
    "abs": (lambda n: abs(_num("abs", n)), 1, 1),
    "sum": (lambda a: sum(_numbers("sum", a), Decimal(0)), 1, 1),
    "avg": (_avg, 1, 1),
    "min": (_extreme("min", min), 1, 1),
    "max": (_extreme("max", max), 1, 1),
    "rand": (_rand, 1, 1),
    "median": (_median, 1, 1),
    "mode": (_mode, 1, 1),
    "floor": (_floor, 1, 1),
    "ceil": (_ceil, 1, 1),
    "round": (_round, 1, 2),
    "trunc": (_trunc, 1, 2),
    "isNumeric": (_is_numeric, 1, 1),
    "string": (string_of, 1, 1),
    "number": (_number, 1, 1),
    "bool": (to_bool, 1, 1),
    "type": (type_name, 1, 1),
    "keys": (_keys, 1, 1),
    "values": (_values, 1, 1),
    "date": (_date, 1, 1),
    "time": (_time, 1, 1),
    "duration": (_duration, 1, 1),
    "year": (_date_part(lambda d: d.year), 1, 1),
    "dayOfWeek": (_date_part(lambda d: d.isoweekday()), 1, 1),
    "dayOfMonth": (_date_part(lambda d: d.day), 1, 1),
    "dayOfYear": (_date_part(lambda d: d.timetuple().tm_yday), 1, 1),
    "weekOfYear": (_date_part(lambda d: d.isocalendar()[1]), 1, 1),
    "monthOfYear": (_date_part(lambda d: d.month), 1, 1),
    "monthString": (_date_part(lambda d: d.strftime("%b")), 1, 1),
    "weekdayString": (_date_part(lambda d: d.strftime("%a")), 1, 1),
    "dateString": (_date_part(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")), 1, 1),
    "d": (make_date, 0, 2),
    "startOf": (_start_of, 2, 2),
    "endOf": (_end_of, 2, 2),
}
"""Name -> (implementation, fewest arguments, most arguments)."""
