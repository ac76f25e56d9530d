"""The collections queue: which delinquent account to work first, and with what action.

A strategy (the packaged example: ``examples/strategies/collections.yaml``) decides per account,
from its bucket, balance and behaviour score, the ``action`` (``sms_reminder``, ``call``,
``field_visit``, ``agency``; ``none`` or null: not worked), the ``pay_probability`` after that
action and the ``action_cost``. The queue ranks the accounts by::

    expected_recovery = pay_probability x balance - action_cost

highest first (ties: larger balance, then account id), in :class:`~decimal.Decimal` to the cent
(the probability enters exactly as the strategy's double; the product is rounded half-even once).
Accounts already current are not queued, nor accounts held back (an open promise to pay).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from importlib import resources
from typing import Any, cast

import polars as pl

from ruleplus.decision import CompiledStrategy, compile_strategy
from ruleplus.errors import DataError
from ruleplus.lending.delinquency import BUCKETS, code_map

__all__ = [
    "ACTIONS",
    "QueueItem",
    "collections_performance",
    "collections_queue",
    "example_collections_strategy",
    "expected_recovery",
    "queue_summary",
]

#: The actions the example strategy assigns, mildest first.
ACTIONS: tuple[str, ...] = ("sms_reminder", "call", "field_visit", "agency")
_CENT = Decimal("0.01")
_OUTPUTS = ("action", "pay_probability", "action_cost")


def example_collections_strategy() -> CompiledStrategy:
    """The packaged example collections strategy, compiled."""
    ref = resources.files("ruleplus") / "examples" / "strategies" / "collections.yaml"
    return compile_strategy(ref.read_text(encoding="utf-8"), name="collections.yaml")


def _money(value: Any, field: str, account: Any) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if value is None or not amount.is_finite() or amount < 0:
        raise DataError(
            f"{field} of account {account!r} is {value!r}; expected an amount >= 0",
            field=field,
            account=str(account),
        )
    return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def expected_recovery(pay_probability: float, balance: Decimal, cost: Decimal) -> Decimal:
    """``pay_probability x balance - cost``, to the cent (half-even)."""
    value = Decimal(pay_probability) * balance - cost
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class QueueItem:
    """One account of the queue.

    Attributes
    ----------
    rank : int
        1 = work first.
    account_id : str
        Account key.
    bucket : str
        Delinquency bucket.
    balance : Decimal
        Outstanding balance.
    action : str
        The strategy's action.
    pay_probability : float
        Probability to pay after the action.
    action_cost : Decimal
        Cost of the action.
    expected_recovery : Decimal
        ``pay_probability x balance - action_cost``.
    score : float or None
        Behaviour score given.
    """

    rank: int
    account_id: str
    bucket: str
    balance: Decimal
    action: str
    pay_probability: float
    action_cost: Decimal
    expected_recovery: Decimal
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (amounts as decimal strings)."""
        return {
            "rank": self.rank,
            "account_id": self.account_id,
            "bucket": self.bucket,
            "balance": str(self.balance),
            "score": self.score,
            "action": self.action,
            "pay_probability": self.pay_probability,
            "action_cost": str(self.action_cost),
            "expected_recovery": str(self.expected_recovery),
        }


def _frame(accounts: pl.DataFrame | Iterable[Mapping[str, Any]] | Any) -> pl.DataFrame:
    if isinstance(accounts, pl.DataFrame):
        return accounts
    if hasattr(accounts, "to_numpy") and hasattr(accounts, "columns"):
        converted: pl.DataFrame = pl.from_pandas(cast(Any, accounts))
        return converted
    rows = []
    for k, record in enumerate(accounts):
        if not isinstance(record, Mapping):
            raise DataError(f"account {k} is not a record", field=f"accounts[{k}]")
        row = {}
        for key, value in record.items():
            if isinstance(value, Decimal):  # amounts from JSON bodies; the strategy reads numbers
                value = float(value)
            elif value is not None and not isinstance(value, str | int | float | bool):
                raise DataError(
                    f"field {key!r} of account {k} is not a number, text or boolean",
                    field=f"accounts[{k}].{key}",
                )
            row[str(key)] = value
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    _refuse_mixed_booleans(rows)
    try:
        return pl.DataFrame(rows, infer_schema_length=None, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise DataError(f"the accounts do not form a table: {exc}", field="accounts") from None


def _refuse_mixed_booleans(rows: list[dict[str, Any]]) -> None:
    """A column of numbers with a true/false in it: polars would read the boolean as 1.0 or 0.0
    (and a strategy then score it); it is an error naming the account and the field."""
    numeric: set[str] = set()
    boolean: dict[str, int] = {}
    for k, row in enumerate(rows):
        for key, value in row.items():
            if isinstance(value, bool):
                boolean.setdefault(key, k)
            elif isinstance(value, int | float):
                numeric.add(key)
    for key, k in boolean.items():
        if key in numeric:
            raise DataError(
                f"field {key!r} of account {k} is true/false where other accounts hold numbers",
                field=f"accounts[{k}].{key}",
            )


def _buckets(frame: pl.DataFrame, codes: Mapping[str, str] | None) -> pl.Series:
    if "bucket" in frame.columns:
        buckets = frame.get_column("bucket").cast(pl.String)
        bad = buckets.is_null() | ~buckets.is_in(list(BUCKETS))
        if bad.any():
            raise DataError(
                f"bucket {buckets.filter(bad)[0]!r} is not one of {', '.join(BUCKETS)}",
                field="bucket",
            )
        return buckets
    if "status" in frame.columns:
        mapping = code_map(codes)
        status = frame.get_column("status").cast(pl.String).str.strip_chars()
        index = status.replace_strict(mapping, default=None, return_dtype=pl.Int64)
        if index.null_count():
            raise DataError(
                f"status code {status.filter(index.is_null())[0]!r} is unknown", field="status"
            )
        return pl.Series("bucket", [BUCKETS[i] for i in index.to_list()], dtype=pl.String)
    raise DataError("accounts need a 'bucket' (M1 … M6+) or a 'status' column", field="bucket")


def collections_queue(
    accounts: pl.DataFrame | Iterable[Mapping[str, Any]] | Any,
    strategy: CompiledStrategy | None = None,
    *,
    account_col: str = "account_id",
    held: Collection[str] = (),
    codes: Mapping[str, str] | None = None,
) -> list[QueueItem]:
    """Rank delinquent accounts by expected recovery and assign their actions.

    Parameters
    ----------
    accounts : polars.DataFrame, pandas.DataFrame or iterable of mappings
        One row per account: ``account_col``, ``balance``, ``bucket`` (or a ``status`` code)
        and whatever else the strategy reads (``score``…).
    strategy : CompiledStrategy, optional
        Must output ``action``, ``pay_probability``, ``action_cost`` (default: the example).
    account_col : str, default="account_id"
        Account key column (passed to the strategy as ``account_id``).
    held : collection of str, default=()
        Accounts not to work today (e.g. an open promise to pay).
    codes : mapping, optional
        Status code -> bucket name, when ``status`` is given instead of ``bucket``.

    Returns
    -------
    list of QueueItem
        Best expected recovery first.

    Raises
    ------
    DataError
        A missing column, bad amount, unknown bucket, a strategy error on an account, or a
        strategy without the three outputs.
    """
    frame = _frame(accounts)
    if frame.is_empty():
        return []
    if account_col not in frame.columns:
        raise DataError(f"account column {account_col!r} not found", field=account_col)
    if "balance" not in frame.columns:
        raise DataError("accounts need a 'balance' column", field="balance")
    frame = frame.rename({account_col: "account_id"}) if account_col != "account_id" else frame
    frame = frame.with_columns(pl.col("account_id").cast(pl.String), _buckets(frame, codes))
    frame = frame.filter(pl.col("bucket") != BUCKETS[0])
    if held:
        frame = frame.filter(~pl.col("account_id").is_in(list(held)))
    if frame.is_empty():
        return []
    ids = frame.get_column("account_id").to_list()
    balances = [_money(v, "balance", a) for v, a in zip(frame["balance"], ids, strict=True)]
    plan = strategy if strategy is not None else example_collections_strategy()
    missing = [name for name in _OUTPUTS if name not in plan.outputs]
    if missing:
        raise DataError(
            f"the collections strategy {plan.id!r} does not output {', '.join(missing)}",
            field="strategy",
        )
    decided = plan.evaluate_frame(frame.with_columns(pl.col("balance").cast(pl.Float64)))
    errors = decided.get_column("_error")
    if errors.null_count() != decided.height:
        i = int(errors.is_not_null().arg_true()[0])
        raise DataError(
            f"the strategy failed on account {ids[i]!r}: {errors[i]}", account=str(ids[i])
        )
    scores = frame.get_column("score").to_list() if "score" in frame.columns else [None] * len(ids)
    items: list[QueueItem] = []
    for i, row in enumerate(decided.select(_OUTPUTS).iter_rows()):
        action, p, cost = row
        if action is None or action == "none":
            continue
        if not isinstance(p, int | float) or not 0.0 <= float(p) <= 1.0:
            raise DataError(
                f"pay_probability of account {ids[i]!r} is {p!r}; expected 0 … 1",
                field="pay_probability",
            )
        fee = _money(cost, "action_cost", ids[i])
        given = scores[i]
        score = None if given is None else float(given)
        items.append(
            QueueItem(
                0,
                str(ids[i]),
                str(frame["bucket"][i]),
                balances[i],
                str(action),
                float(p),
                fee,
                expected_recovery(float(p), balances[i], fee),
                score,
            )
        )
    items.sort(key=lambda q: (-q.expected_recovery, -q.balance, q.account_id))
    return [replace(q, rank=k) for k, q in enumerate(items, start=1)]


def queue_summary(queue: Iterable[QueueItem]) -> dict[str, Any]:
    """Accounts, balance and expected recovery by action and in total (amounts as strings)."""
    by_action: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {"accounts": 0, "balance": Decimal(0), "expected_recovery": Decimal(0)}
    for q in queue:
        row = by_action.setdefault(
            q.action, {"accounts": 0, "balance": Decimal(0), "expected_recovery": Decimal(0)}
        )
        for acc in (row, total):
            acc["accounts"] += 1
            acc["balance"] += q.balance
            acc["expected_recovery"] += q.expected_recovery

    def text(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in d.items()}

    return {"total": text(total), "by_action": {k: text(v) for k, v in sorted(by_action.items())}}


def collections_performance(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What each action led to, from recorded events in time order.

    Each promise and payment of an account counts for the last action taken on it before
    (``-`` when none was). Per action: ``actions`` taken, ``promises``, ``payments``, ``paid``
    (decimal text), and ``pay_rate``, the share of actions followed by at least one payment
    before the account's next action.
    """
    table: dict[str, dict[str, Any]] = {}
    last: dict[str, tuple[str, int]] = {}  # account -> (action, its serial)
    paid_after: set[int] = set()
    serial = 0

    def row(action: str) -> dict[str, Any]:
        return table.setdefault(
            action, {"actions": 0, "promises": 0, "payments": 0, "paid": Decimal(0), "_paid": 0}
        )

    for event in events:
        account, kind = str(event.get("account_id")), event.get("kind")
        if kind == "action":
            serial += 1
            action = str(event.get("action") or "-")
            last[account] = (action, serial)
            row(action)["actions"] += 1
            continue
        action, which = last.get(account, ("-", 0))
        target = row(action)
        if kind == "promise":
            target["promises"] += 1
        elif kind == "payment":
            target["payments"] += 1
            target["paid"] += Decimal(str(event.get("amount") or 0))
            if which and which not in paid_after:
                paid_after.add(which)
                target["_paid"] += 1
    out = {}
    for action, r in sorted(table.items()):
        paid_count = r.pop("_paid")
        r["paid"] = str(r["paid"].quantize(_CENT))
        r["pay_rate"] = paid_count / r["actions"] if r["actions"] else None
        out[action] = r
    return out
