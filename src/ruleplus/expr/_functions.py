"""The function library: one entry per function, with its typing rule and both back ends.

Each function is *total*: it never raises at run time. Out-of-domain inputs (``sqrt(-1)``,
``log(0)``, an overflowing ``exp``) give null, exactly as in the vectorised back end.
Strict functions return null when any argument is null; ``min``/``max``/``coalesce`` skip nulls.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import re2

from ruleplus.checks import bank_card_valid, id_age, id_gender, id_province, id_valid, luhn_valid
from ruleplus.expr._types import Kind, Ty

__all__ = ["FUNCTIONS", "FunctionSpec", "SignatureError", "check_regex"]


class SignatureError(Exception):
    """Raised by a typing rule; the checker turns it into an ExpressionTypeError."""


Typer = Callable[[list[Ty], list[Any]], Ty]
VectorImpl = Callable[[list[pl.Expr], list[Ty], list[Any]], pl.Expr]


@dataclass(frozen=True)
class FunctionSpec:
    """One library function.

    Parameters
    ----------
    name : str
        Name used in expressions.
    min_args, max_args : int
        Arity (``max_args=-1`` for variadic).
    typer : callable
        ``(argument types, constant argument values or None) -> result type``; raises
        :class:`SignatureError` with a message on misuse.
    row : callable
        The row implementation, called with non-null arguments when ``strict``.
    vector : callable
        Builds the polars expression from the argument expressions.
    strict : bool, default=True
        Null in any argument gives null without calling ``row``.
    doc : str
        One line for the function reference.
    """

    name: str
    min_args: int
    max_args: int
    typer: Typer
    row: Callable[..., Any]
    vector: VectorImpl
    strict: bool = True
    doc: str = ""


# --- typing helpers -----------------------------------------------------------------------


def _nullable(tys: Sequence[Ty]) -> bool:
    return any(t.nullable for t in tys)


def _expect(tys: list[Ty], index: int, kind: Kind, what: str) -> None:
    if not tys[index].fits(kind):
        raise SignatureError(
            f"argument {index + 1} ({what}) must be {kind.value}, got {tys[index]}"
        )


def _numeric_kind(tys: Sequence[Ty]) -> Kind:
    return Kind.INTEGER if all(t.kind in (Kind.INTEGER, Kind.NULL) for t in tys) else Kind.NUMBER


def _numeric(nullable_override: bool | None = None, result: Kind | None = None) -> Typer:
    def typer(tys: list[Ty], consts: list[Any]) -> Ty:
        for i in range(len(tys)):
            _expect(tys, i, Kind.NUMBER, "a number")
        kind = result or _numeric_kind(tys)
        nullable = _nullable(tys) if nullable_override is None else nullable_override
        return Ty(kind, nullable)

    return typer


def _partial_numeric(result: Kind = Kind.NUMBER) -> Typer:
    """Numeric function that may give null for out-of-domain input (sqrt, log, exp)."""
    return _numeric(nullable_override=True, result=result)


def _strings(result: Kind, count: int | None = None) -> Typer:
    def typer(tys: list[Ty], consts: list[Any]) -> Ty:
        for i in range(count if count is not None else len(tys)):
            _expect(tys, i, Kind.STRING, "a string")
        return Ty(result, _nullable(tys))

    return typer


def _dates(result: Kind) -> Typer:
    def typer(tys: list[Ty], consts: list[Any]) -> Ty:
        for i in range(len(tys)):
            _expect(tys, i, Kind.DATE, "a date")
        return Ty(result, _nullable(tys))

    return typer


def _comparable_kind(tys: Sequence[Ty]) -> Kind:
    kinds = {t.kind for t in tys if t.kind not in (Kind.NULL, Kind.ANY)}
    if kinds <= {Kind.INTEGER, Kind.NUMBER}:
        return _numeric_kind(tys) if kinds else Kind.NUMBER
    if len(kinds) == 1:
        (kind,) = kinds
        if kind in (Kind.STRING, Kind.DATE):
            return kind
    found = ", ".join(str(t) for t in tys)
    raise SignatureError(f"arguments must all be numbers, all strings or all dates, got {found}")


def _extremum(tys: list[Ty], consts: list[Any]) -> Ty:
    if len(tys) == 1:
        if tys[0].kind is not Kind.LIST:
            raise SignatureError("with one argument, it must be a list")
        element = tys[0].element or Kind.ANY
        return Ty(element, True)
    return Ty(_comparable_kind(tys), all(t.nullable for t in tys))


def _coalesce(tys: list[Ty], consts: list[Any]) -> Ty:
    kind = _comparable_or_same(tys)
    return Ty(kind, all(t.nullable for t in tys))


def _comparable_or_same(tys: Sequence[Ty]) -> Kind:
    kinds = {t.kind for t in tys if t.kind not in (Kind.NULL, Kind.ANY)}
    if kinds <= {Kind.INTEGER, Kind.NUMBER}:
        return _numeric_kind(tys) if kinds else Kind.NULL
    if len(kinds) == 1:
        return kinds.pop()
    found = ", ".join(str(t) for t in tys)
    raise SignatureError(f"arguments must all have the same type, got {found}")


def _clamp(tys: list[Ty], consts: list[Any]) -> Ty:
    for i in range(3):
        _expect(tys, i, Kind.NUMBER, ("the value", "the lower bound", "the upper bound")[i])
    return Ty(_numeric_kind(tys), _nullable(tys))


def _between(tys: list[Ty], consts: list[Any]) -> Ty:
    _comparable_kind(tys)
    return Ty(Kind.BOOLEAN, _nullable(tys))


def _round(tys: list[Ty], consts: list[Any]) -> Ty:
    _expect(tys, 0, Kind.NUMBER, "the value")
    if len(tys) == 2:
        if not isinstance(consts[1], int) or isinstance(consts[1], bool):
            raise SignatureError("argument 2 (decimals) must be a whole-number constant")
        if not 0 <= consts[1] <= 12:
            raise SignatureError("argument 2 (decimals) must be between 0 and 12")
    return Ty(Kind.NUMBER, tys[0].nullable)


def _length(tys: list[Ty], consts: list[Any]) -> Ty:
    if not (tys[0].fits(Kind.STRING) or tys[0].kind is Kind.LIST):
        raise SignatureError(f"argument 1 must be a string or a list, got {tys[0]}")
    return Ty(Kind.INTEGER, tys[0].nullable)


def _matches(tys: list[Ty], consts: list[Any]) -> Ty:
    _expect(tys, 0, Kind.STRING, "the text")
    if not isinstance(consts[1], str):
        raise SignatureError("argument 2 (the pattern) must be a constant string")
    check_regex(consts[1])
    return Ty(Kind.BOOLEAN, tys[0].nullable)


def _date(tys: list[Ty], consts: list[Any]) -> Ty:
    _expect(tys, 0, Kind.STRING, "an ISO date 'YYYY-MM-DD'")
    if isinstance(consts[0], str):
        if _parse_date(consts[0]) is None:
            raise SignatureError(f"{consts[0]!r} is not a date 'YYYY-MM-DD'")
        return Ty(Kind.DATE, False)
    return Ty(Kind.DATE, True)


# --- regular expressions ------------------------------------------------------------------
# ``matches`` runs on RE2 in the row back end (google-re2) and on Rust's ``regex`` crate in
# the vector back end (polars). Both are automata engines: time is linear in the text, so no
# pattern can backtrack catastrophically (Python's ``re``, a backtracking engine, needs some
# 20 s for ``^(a+)+$`` against 30 a's and a '!', twice that per extra 'a'). Both spell patterns
# alike (RE2 syntax) but do not read every pattern alike, so a pattern is accepted only in the
# part of the syntax where they agree, and ``\d``, ``\s``, ``\w`` are spelled out as explicit
# classes given to both engines.

MAX_PATTERN_LENGTH = 500
"""Longest ``matches`` pattern, in characters."""

REGEX_MAX_MEM = 1 << 18
"""RE2's memory budget per pattern (``Options.max_mem``), bytes. Most of it bounds the compiled
program (about 10,000 instructions, e.g. one ``.{1000}``; bigger patterns are refused), the
rest the lazy DFA's cache (when that fills up RE2 falls back to its NFA: slower, still
linear). Time per text is at most about program size times text length: some 20 ms per 1,000
characters for the largest pattern accepted, microseconds for ordinary ones."""

_PERL_CLASSES: dict[str, tuple[tuple[int, int], ...]] = {
    # RE2's own (ASCII) meaning; Rust's are Unicode, so neither engine sees the escape
    "d": ((0x30, 0x39),),
    "s": ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}
_FLAGS = frozenset("imsU-")
_COUNTED = re.compile(r"\{(?:0|[1-9][0-9]*)(?:,(?:0|[1-9][0-9]*)?)?\}")
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")
_HEX_ESCAPE = re.compile(r"\\x(?:\{[^}]*\}?|.{0,2})", re.DOTALL)
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;=?@[\\]^_`{|}~ ")  # escapable as themselves


def _re2_options() -> Any:
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.log_errors = False  # errors are raised, not also written to stderr
    options.never_capture = True  # only "is there a match" is asked
    return options


_RE2_OPTIONS = _re2_options()


def _ranges(ranges: Sequence[tuple[int, int]], negate: bool) -> str:
    """Class items for ``ranges`` (or for every other code point when ``negate``)."""
    if negate:
        rest, start = [], 0
        for low, high in ranges:
            if start < low:
                rest.append((start, low - 1))
            start = high + 1
        if start <= 0x10FFFF:
            rest.append((start, 0x10FFFF))
        ranges = rest
    return "".join(
        f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}"
        for low, high in ranges
    )


def _refuse_escape(letter: str) -> SignatureError:
    if letter in "bB<>":
        return SignatureError(
            f"\\{letter} (a word boundary) is not supported: the back ends disagree on which "
            "characters make words; use ^, $ or an explicit class such as [^0-9A-Za-z_]"
        )
    if letter.isdigit():
        return SignatureError(
            f"\\{letter} (back-references and octal escapes) is not supported; "
            "write the text again, or \\x{...} for a character"
        )
    if letter in "pP":
        return SignatureError(
            f"\\{letter}{{...}} (Unicode classes) is not supported: the back ends' Unicode "
            "tables differ; use explicit ranges such as [\\x{4E00}-\\x{9FFF}] or [一-龥]"
        )
    if letter == "Z":
        return SignatureError("\\Z is not supported; use \\z or $ for the end of the text")
    return SignatureError(
        f"the escape \\{letter} is not supported here; use \\a \\f \\t \\n \\r \\v \\x{{...}} "
        "\\d \\s \\w (and \\A \\z outside classes), or a backslash before punctuation"
    )


def _escape(pattern: str, i: int, out: list[str], in_class: bool) -> int:
    """Copy or spell out the escape at ``pattern[i]`` (a backslash); return where it ends."""
    letter = pattern[i + 1 : i + 2]
    if letter == "":
        out.append("\\")  # the engines report the trailing backslash
        return i + 1
    if letter.lower() in _PERL_CLASSES:
        items = _ranges(_PERL_CLASSES[letter.lower()], negate=letter.isupper())
        out.append(items if in_class else f"[{items}]")
        return i + 2
    if letter == "x":
        end = _HEX_ESCAPE.match(pattern, i)
        assert end is not None
        out.append(end.group())
        return end.end()
    if letter in "aftnrv" or (letter in "Az" and not in_class) or letter in _PUNCTUATION:
        out.append(pattern[i : i + 2])
        return i + 2
    raise _refuse_escape(letter)


def _char_class(pattern: str, i: int, out: list[str]) -> int:
    """Copy the class opening at ``pattern[i]``, spelling out ``\\d`` and friends."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    out.append(pattern[i:j])
    first = True  # a ']' first in the class is a literal
    range_hyphen = False  # the last item was a '-' that makes a range
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            out.append("]")
            return j + 1
        if c == "[":
            posix = _POSIX_CLASS.match(pattern, j)
            if posix is None:
                raise SignatureError(
                    "'[' inside a class starts a nested class in the vector back end and is "
                    "a plain character in the row back end; write \\[ for the character"
                )
            out.append(posix.group())
            j, first, range_hyphen = posix.end(), False, False
            continue
        if c in "&-~" and pattern.startswith(c + c, j):
            raise SignatureError(
                f"'{c}{c}' inside a class is a set operation in the vector back end and two "
                f"characters in the row back end; write \\{c} for the character"
            )
        if c == "\\":
            letter = pattern[j + 1 : j + 2]
            if letter.lower() in _PERL_CLASSES and (
                range_hyphen or (pattern.startswith("-", j + 2) and pattern[j + 3 : j + 4] != "]")
            ):
                raise SignatureError(
                    f"\\{letter} cannot be the end of a range; write \\- for the character '-'"
                )
            j, first, range_hyphen = _escape(pattern, j, out, in_class=True), False, False
            continue
        out.append(c)
        range_hyphen = c == "-" and not first
        j, first = j + 1, False
    return j  # unclosed: the engines report the missing ']'


def _group(pattern: str, i: int, out: list[str]) -> int:
    """Check and copy the ``(?`` group opening at ``pattern[i]``; return where it ends."""
    rest = pattern[i + 2 :]
    if rest.startswith(("=", "!", "<=", "<!")):
        raise SignatureError("lookaround ((?=...), (?!...), (?<=...), (?<!...)) is not supported")
    if rest.startswith(("P=", "P>")):
        raise SignatureError("back-references and recursion ((?P=name)) are not supported")
    if rest.startswith(("(", "#")):
        raise SignatureError("conditional groups and comments ((?(...), (?#...)) are not supported")
    if rest.startswith(("P<", "<")):
        close = pattern.find(">", i)
        end = len(pattern) if close < 0 else close + 1
        out.append(pattern[i:end])
        return end
    j = i + 2
    while j < len(pattern) and (pattern[j].isalpha() or pattern[j] == "-"):
        if pattern[j] not in _FLAGS:
            raise SignatureError(
                f"the flag {pattern[j]!r} is not supported; flags are i (ignore case), "
                "m (multi-line), s (. matches a newline) and U (swap greediness)"
            )
        j += 1
    out.append(pattern[i:j])
    return j


def _canonical_regex(pattern: str) -> str:
    """The pattern both engines are given: refused constructs raise, Perl classes spelled out.

    Raises
    ------
    SignatureError
        For constructs that RE2 and Rust's ``regex`` would read differently.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i = _escape(pattern, i, out, in_class=False)
        elif c == "[":
            i = _char_class(pattern, i, out)
        elif c == "(" and pattern.startswith("(?", i):
            i = _group(pattern, i, out)
        elif c == "{":
            counted = _COUNTED.match(pattern, i)
            if counted is None:
                raise SignatureError(
                    "'{' must start a repetition {n}, {n,} or {n,m} (no spaces or leading "
                    "zeros); write \\{ for the character"
                )
            out.append(counted.group())
            i = counted.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _engine_message(exc: BaseException) -> str:
    """The first useful line of an RE2 or polars error."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return lines[0] if lines else type(exc).__name__


def check_regex(pattern: str) -> None:
    """Refuse patterns that either back end cannot run, or that the two would read differently.

    The row back end runs the pattern on RE2 and the vector back end on Rust's ``regex``:
    both linear-time engines with one syntax family. Accepted: literals, ``.``, classes
    (``[...]``, ``[^...]``, POSIX ``[[:alpha:]]``), ``\\d \\s \\w`` and their negations (ASCII,
    as in RE2), ``\\x{...}``, ``^ $ \\A \\z``, groups, ``|``, ``* + ? {n,m}`` (also lazy) and
    the flags ``i m s U``. Refused: lookaround, back-references, word boundaries ``\\b``,
    Unicode classes ``\\p{...}``, nested classes and class set operations (``&& -- ~~``),
    braces that are not a repetition, and whatever either engine rejects.

    Parameters
    ----------
    pattern : str
        The constant pattern of a ``matches`` call.

    Raises
    ------
    SignatureError
        Naming the problem; the checker reports it as an expression type error.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise SignatureError(f"pattern is too long (at most {MAX_PATTERN_LENGTH} characters)")
    canonical = _canonical_regex(pattern)
    try:
        re2.compile(canonical, _RE2_OPTIONS)
    except re2.error as exc:
        message = _engine_message(exc)
        if "too large" in message:
            raise SignatureError(
                f"pattern is too large once compiled (over {REGEX_MAX_MEM >> 10} KiB); "
                "use fewer or smaller repetitions"
            ) from None
        raise SignatureError(f"pattern does not compile: {message}") from None
    try:
        pl.Series([""], dtype=pl.String).str.contains(canonical)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise SignatureError(
            f"pattern does not compile in the vector back end: {_engine_message(exc)}"
        ) from None


# --- row implementations ------------------------------------------------------------------


def _round_half_away(x: float, decimals: int = 0) -> float:
    scale = 10.0**decimals
    y = x * scale
    if not math.isfinite(y):  # huge x (or inf/nan): nothing to round at this scale
        return float(x)
    whole = math.floor(abs(y))
    if abs(y) - whole >= 0.5:
        whole += 1
    return math.copysign(whole, y) / scale


def _whole(rounding: Callable[[float], int]) -> Callable[[float], int | None]:
    """floor/ceil giving null for inf/nan or a result outside int64 (as the vector cast)."""

    def whole(x: float) -> int | None:
        if isinstance(x, int):
            return x
        if not math.isfinite(x):
            return None
        result = rounding(x)
        return result if -(2**63) <= result < 2**63 else None

    return whole


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _exp(x: float) -> float | None:
    try:
        return _finite(math.exp(x))
    except OverflowError:
        return None


def _sqrt(x: float) -> float | None:
    return math.sqrt(x) if x >= 0 else None


def _log(x: float) -> float | None:
    return math.log(x) if x > 0 else None


def _log10(x: float) -> float | None:
    return math.log10(x) if x > 0 else None


def _min_skip(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _max_skip(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _coalesce_row(*values: Any) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month) - (1 if b.day < a.day else 0)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - (1 if (on.month, on.day) < (birth.month, birth.day) else 0)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(text: str) -> dt.date | None:
    # fromisoformat alone also reads "2020-W01-1" and "20200101"; polars reads " 2020-01-1"
    if _ISO_DATE.fullmatch(text) is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=128)
def _compiled_regex(pattern: str) -> Any:
    """RE2 program for a checked pattern (bounded cache: each holds up to ``REGEX_MAX_MEM``)."""
    return re2.compile(_canonical_regex(pattern), _RE2_OPTIONS)


def _matches_row(text: str, pattern: str) -> bool:
    # given bytes, re2 skips mapping match offsets back to characters; a lone surrogate (which
    # no polars column can hold) is passed on as its bytes rather than raising
    return _compiled_regex(pattern).search(text.encode("utf-8", "surrogatepass")) is not None


# --- vector implementations ---------------------------------------------------------------


def _v_finite(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_finite()).then(e)


def _v_extremum(fn: Callable[..., pl.Expr], method: str) -> VectorImpl:
    def impl(args: list[pl.Expr], tys: list[Ty], consts: list[Any]) -> pl.Expr:
        if len(args) == 1:
            return getattr(args[0].list, method)()  # type: ignore[no-any-return]
        return fn(*args)

    return impl


def _v_months_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (
        (b.dt.year() - a.dt.year()).cast(pl.Int64) * 12
        + (b.dt.month().cast(pl.Int64) - a.dt.month().cast(pl.Int64))
        - (b.dt.day() < a.dt.day()).cast(pl.Int64)
    )


def _v_age(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    later = on.dt.month().cast(pl.Int64) * 100 + on.dt.day().cast(pl.Int64)
    earlier = birth.dt.month().cast(pl.Int64) * 100 + birth.dt.day().cast(pl.Int64)
    return (on.dt.year() - birth.dt.year()).cast(pl.Int64) - (later < earlier).cast(pl.Int64)


def _v_length(args: list[pl.Expr], tys: list[Ty], consts: list[Any]) -> pl.Expr:
    if tys[0].kind is Kind.LIST:
        return args[0].list.len().cast(pl.Int64)
    return args[0].str.len_chars().cast(pl.Int64)


def _v_date(args: list[pl.Expr], tys: list[Ty], consts: list[Any]) -> pl.Expr:
    text = args[0]
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    ok = text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & (parsed.dt.year() >= 1)
    return pl.when(ok).then(parsed)


def _len_row(value: Any) -> int:
    return len(value)


def _spec(
    name: str,
    arity: tuple[int, int],
    typer: Typer,
    row: Callable[..., Any],
    vector: VectorImpl,
    doc: str,
    strict: bool = True,
) -> FunctionSpec:
    return FunctionSpec(name, arity[0], arity[1], typer, row, vector, strict, doc)


def _v1(fn: Callable[[pl.Expr], pl.Expr]) -> VectorImpl:
    return lambda args, tys, consts: fn(args[0])


def _v2(fn: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> VectorImpl:
    return lambda args, tys, consts: fn(args[0], args[1])


# --- identity documents (pure Python in both back ends: the rules are not vectorisable) ----


def _id_valid(number: str) -> bool:
    return id_valid(number)


def _id_age(number: str, on: dt.date) -> int | None:
    return id_age(number, on)


def _id_gender(number: str) -> str | None:
    return id_gender(number)


def _id_province(number: str) -> str | None:
    return id_province(number)


def _id_age_typer(tys: list[Ty], consts: list[Any]) -> Ty:
    _expect(tys, 0, Kind.STRING, "the ID number")
    _expect(tys, 1, Kind.DATE, "the date of the age")
    return Ty(Kind.INTEGER, True)


def _maybe(typer: Typer) -> Typer:
    """The same typing, but the result may be null whatever the arguments."""

    def wrapped(tys: list[Ty], consts: list[Any]) -> Ty:
        return typer(tys, consts).with_nullable(True)

    return wrapped


def _v_python(fn: Callable[..., Any], dtype: Any) -> VectorImpl:
    """Run a row function over a column (or a struct of columns) in one batch."""

    def impl(args: list[pl.Expr], tys: list[Ty], consts: list[Any]) -> pl.Expr:
        def batch(series: pl.Series) -> pl.Series:
            if len(args) == 1:
                rows = [(v,) for v in series.to_list()]
            else:
                rows = [tuple(r.values()) for r in series.to_list()]
            out = [None if r is None or any(v is None for v in r) else fn(*r) for r in rows]
            return pl.Series(out, dtype=dtype)

        source = (
            args[0] if len(args) == 1 else pl.struct([a.alias(f"a{i}") for i, a in enumerate(args)])
        )
        return source.map_batches(batch, return_dtype=dtype)

    return impl


_LIST = [
    _spec("abs", (1, 1), _numeric(), abs, _v1(lambda x: x.abs()), "absolute value"),
    _spec(
        "round",
        (1, 2),
        _round,
        _round_half_away,
        lambda a, t, c: (
            a[0].cast(pl.Float64).round(c[1] if len(c) > 1 else 0, mode="half_away_from_zero")
        ),
        "round(x, decimals=0): half away from zero",
    ),
    _spec(
        "floor",
        (1, 1),
        _partial_numeric(Kind.INTEGER),
        _whole(math.floor),
        _v1(lambda x: x.floor().cast(pl.Int64, strict=False)),
        "largest whole number <= x",
    ),
    _spec(
        "ceil",
        (1, 1),
        _partial_numeric(Kind.INTEGER),
        _whole(math.ceil),
        _v1(lambda x: x.ceil().cast(pl.Int64, strict=False)),
        "smallest whole number >= x",
    ),
    _spec(
        "sqrt",
        (1, 1),
        _partial_numeric(),
        _sqrt,
        _v1(lambda x: pl.when(x >= 0).then(x.cast(pl.Float64).sqrt())),
        "square root; null below 0",
    ),
    _spec(
        "log",
        (1, 1),
        _partial_numeric(),
        _log,
        _v1(lambda x: pl.when(x > 0).then(x.cast(pl.Float64).log())),
        "natural log; null at or below 0",
    ),
    _spec(
        "log10",
        (1, 1),
        _partial_numeric(),
        _log10,
        _v1(lambda x: pl.when(x > 0).then(x.cast(pl.Float64).log10())),
        "base-10 log; null at or below 0",
    ),
    _spec(
        "exp",
        (1, 1),
        _partial_numeric(),
        _exp,
        _v1(lambda x: _v_finite(x.cast(pl.Float64).exp())),
        "e ** x; null on overflow",
    ),
    _spec(
        "min",
        (1, -1),
        _extremum,
        _min_skip,
        _v_extremum(pl.min_horizontal, "min"),
        "smallest argument (or list element), skipping nulls",
        strict=False,
    ),
    _spec(
        "max",
        (1, -1),
        _extremum,
        _max_skip,
        _v_extremum(pl.max_horizontal, "max"),
        "largest argument (or list element), skipping nulls",
        strict=False,
    ),
    _spec(
        "clamp",
        (3, 3),
        _clamp,
        lambda x, lo, hi: min(max(x, lo), hi),
        lambda a, t, c: pl.min_horizontal(pl.max_horizontal(a[0], a[1]), a[2]),
        "clamp(x, low, high)",
    ),
    _spec(
        "coalesce",
        (1, -1),
        _coalesce,
        _coalesce_row,
        lambda a, t, c: pl.coalesce(a),
        "first argument that is not null",
        strict=False,
    ),
    _spec(
        "between",
        (3, 3),
        _between,
        lambda x, lo, hi: lo <= x <= hi,
        lambda a, t, c: (a[0] >= a[1]) & (a[0] <= a[2]),
        "between(x, low, high), both ends included",
    ),
    _spec("len", (1, 1), _length, _len_row, _v_length, "length of a string or a list"),
    _spec(
        "lower",
        (1, 1),
        _strings(Kind.STRING),
        str.lower,
        _v1(lambda x: x.str.to_lowercase()),
        "lower case",
    ),
    _spec(
        "upper",
        (1, 1),
        _strings(Kind.STRING),
        str.upper,
        _v1(lambda x: x.str.to_uppercase()),
        "upper case",
    ),
    _spec(
        "trim",
        (1, 1),
        _strings(Kind.STRING),
        lambda s: s.strip(" \t\n\r"),
        _v1(lambda x: x.str.strip_chars(" \t\n\r")),
        "strip surrounding white space",
    ),
    _spec(
        "contains",
        (2, 2),
        _strings(Kind.BOOLEAN),
        lambda s, sub: sub in s,
        _v2(lambda s, sub: s.str.contains(sub, literal=True)),
        "contains(text, part)",
    ),
    _spec(
        "startswith",
        (2, 2),
        _strings(Kind.BOOLEAN),
        str.startswith,
        _v2(lambda s, p: s.str.starts_with(p)),
        "startswith(text, prefix)",
    ),
    _spec(
        "endswith",
        (2, 2),
        _strings(Kind.BOOLEAN),
        str.endswith,
        _v2(lambda s, p: s.str.ends_with(p)),
        "endswith(text, suffix)",
    ),
    _spec(
        "matches",
        (2, 2),
        _matches,
        _matches_row,
        lambda a, t, c: a[0].str.contains(_canonical_regex(c[1])),
        "matches(text, 'regex'): the pattern (RE2 syntax) occurs in the text",
    ),
    _spec(
        "year",
        (1, 1),
        _dates(Kind.INTEGER),
        lambda d: d.year,
        _v1(lambda d: d.dt.year().cast(pl.Int64)),
        "year of a date",
    ),
    _spec(
        "month",
        (1, 1),
        _dates(Kind.INTEGER),
        lambda d: d.month,
        _v1(lambda d: d.dt.month().cast(pl.Int64)),
        "month 1-12",
    ),
    _spec(
        "day",
        (1, 1),
        _dates(Kind.INTEGER),
        lambda d: d.day,
        _v1(lambda d: d.dt.day().cast(pl.Int64)),
        "day of month",
    ),
    _spec(
        "weekday",
        (1, 1),
        _dates(Kind.INTEGER),
        dt.date.isoweekday,
        _v1(lambda d: d.dt.weekday().cast(pl.Int64)),
        "ISO weekday, Monday=1 … Sunday=7",
    ),
    _spec(
        "days_between",
        (2, 2),
        _dates(Kind.INTEGER),
        lambda a, b: (b - a).days,
        _v2(lambda a, b: (b - a).dt.total_days().cast(pl.Int64)),
        "days_between(start, end)",
    ),
    _spec(
        "months_between",
        (2, 2),
        _dates(Kind.INTEGER),
        _months_between,
        _v2(_v_months_between),
        "whole months from start to end",
    ),
    _spec(
        "age",
        (2, 2),
        _dates(Kind.INTEGER),
        _age,
        _v2(_v_age),
        "age(birth_date, on_date) in whole years",
    ),
    _spec("date", (1, 1), _date, _parse_date, _v_date, "date('YYYY-MM-DD'); null if not a date"),
    _spec(
        "id_valid",
        (1, 1),
        _strings(Kind.BOOLEAN),
        _id_valid,
        _v_python(_id_valid, pl.Boolean),
        "Chinese resident ID number is valid (region, birth date, check digit)",
    ),
    _spec(
        "id_age",
        (2, 2),
        _id_age_typer,
        _id_age,
        _v_python(_id_age, pl.Int64),
        "id_age(idNumber, onDate): age in whole years; null if the number is invalid",
    ),
    _spec(
        "id_gender",
        (1, 1),
        _maybe(_strings(Kind.STRING)),
        _id_gender,
        _v_python(_id_gender, pl.String),
        "'male' or 'female' from a valid ID number, else null",
    ),
    _spec(
        "id_province",
        (1, 1),
        _maybe(_strings(Kind.STRING)),
        _id_province,
        _v_python(_id_province, pl.String),
        "province of a valid ID number, else null",
    ),
    _spec(
        "luhn_valid",
        (1, 1),
        _strings(Kind.BOOLEAN),
        luhn_valid,
        _v_python(luhn_valid, pl.Boolean),
        "digits pass the Luhn check",
    ),
    _spec(
        "bank_card_valid",
        (1, 1),
        _strings(Kind.BOOLEAN),
        bank_card_valid,
        _v_python(bank_card_valid, pl.Boolean),
        "a plausible bank card number (length and Luhn)",
    ),
]

FUNCTIONS: dict[str, FunctionSpec] = {spec.name: spec for spec in _LIST}
"""The allow-list: no other function can be called from an expression."""
