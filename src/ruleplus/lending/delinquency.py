"""Delinquency buckets: the seven states an account is in each month.

A bucket is an index into :data:`BUCKETS` (0 = ``current`` … 6 = ``M6+``), so "worse" is
"greater" and a worst status over months is a maximum. The default status codes are those of
the shared account-month file (Kaggle "Credit Card Approval Prediction")::

    C  paid off that month      -> current
    X  no loan that month       -> current
    0  1-29 days past due       -> M1
    1  30-59                    -> M2
    2  60-89                    -> M3
    3  90-119                   -> M4
    4  120-149                  -> M5
    5  150+ or written off      -> M6+
"""

from __future__ import annotations

from collections.abc import Mapping

from ruleplus.errors import DataError

__all__ = [
    "BUCKETS",
    "CURRENT",
    "DEFAULT_STATUS_CODES",
    "EVER_THRESHOLDS",
    "bucket_index",
    "code_map",
]

#: Bucket names, best to worst.
BUCKETS: tuple[str, ...] = ("current", "M1", "M2", "M3", "M4", "M5", "M6+")
#: Index of ``current``.
CURRENT = 0
#: Status code -> bucket name of the shared file.
DEFAULT_STATUS_CODES: Mapping[str, str] = {
    "C": "current",
    "X": "current",
    "0": "M1",
    "1": "M2",
    "2": "M3",
    "3": "M4",
    "4": "M5",
    "5": "M6+",
}
#: Smallest bucket index counted by ``ever_30`` / ``ever_60`` / ``ever_90`` (codes >= 1 / 2 / 3).
EVER_THRESHOLDS: Mapping[str, int] = {"ever_30": 2, "ever_60": 3, "ever_90": 4}


def bucket_index(name: str) -> int:
    """Index of bucket ``name`` in :data:`BUCKETS`.

    Raises
    ------
    DataError
        Not a bucket name.
    """
    try:
        return BUCKETS.index(name)
    except ValueError:
        raise DataError(
            f"unknown bucket {name!r}; use one of {', '.join(BUCKETS)}", field="bucket"
        ) from None


def code_map(codes: Mapping[str, str] | None = None) -> dict[str, int]:
    """Status code (as text) -> bucket index, from a code -> bucket name mapping.

    Parameters
    ----------
    codes : mapping of str to str, optional
        Status code -> bucket name; default :data:`DEFAULT_STATUS_CODES`.

    Raises
    ------
    DataError
        Empty mapping or an unknown bucket name.
    """
    chosen = DEFAULT_STATUS_CODES if codes is None else codes
    if not chosen:
        raise DataError("the status-code mapping is empty", field="codes")
    return {str(code).strip(): bucket_index(name) for code, name in chosen.items()}
