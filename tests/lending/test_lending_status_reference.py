"""Independent pandas computations of the post-loan definitions (issue 13), for the tests.

Straightforward on purpose: a self-join on (account, month + 1) for roll rates, groupby / cummax
for vintages. Nothing here imports ruleplus.lending.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BUCKET_OF = {"C": 0, "X": 0, "0": 1, "1": 2, "2": 3, "3": 4, "4": 5, "5": 6}
NAMES = ["current", "M1", "M2", "M3", "M4", "M5", "M6+"]


def shared_status(shared_dir: Path) -> pd.DataFrame:
    """The shared account-month file with a numeric ``level`` column."""
    frame = pd.read_csv(
        shared_dir / "data/credit/card_approval/credit_record.csv.zip", dtype={"STATUS": str}
    )
    return with_level(frame)


def with_level(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (ID, MONTHS_BALANCE, STATUS) plus ``level`` (bucket index)."""
    out = frame.copy()
    out["level"] = out["STATUS"].map(BUCKET_OF)
    assert out["level"].notna().all()
    out["level"] = out["level"].astype(int)
    return out


def pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (account, month m) observed at m and m + 1: level_m, level_next, cohort."""
    nxt = frame[["ID", "MONTHS_BALANCE", "level"]].copy()
    nxt["MONTHS_BALANCE"] = nxt["MONTHS_BALANCE"] - 1  # the row of m + 1, keyed by m
    joined = frame.merge(nxt, on=["ID", "MONTHS_BALANCE"], suffixes=("", "_next"))
    joined["cohort"] = joined["ID"].map(frame.groupby("ID")["MONTHS_BALANCE"].min())
    return joined


def roll_counts(joined: pd.DataFrame) -> np.ndarray:
    """7x7 counts from :func:`pairs`."""
    table = pd.crosstab(joined["level"], joined["level_next"])
    return table.reindex(index=range(7), columns=range(7), fill_value=0).to_numpy()


def vintage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """cohort, mob, accounts, ever_30, ever_60, ever_90 (shares), sorted."""
    f = frame.sort_values(["ID", "MONTHS_BALANCE"]).copy()
    f["cohort"] = f.groupby("ID")["MONTHS_BALANCE"].transform("min")
    f["mob"] = f["MONTHS_BALANCE"] - f["cohort"]
    f["worst"] = f.groupby("ID")["level"].cummax()
    for name, threshold in (("ever_30", 2), ("ever_60", 3), ("ever_90", 4)):
        f[name] = f["worst"] >= threshold
    grouped = f.groupby(["cohort", "mob"])
    out = grouped.agg(
        accounts=("ID", "size"),
        n30=("ever_30", "sum"),
        n60=("ever_60", "sum"),
        n90=("ever_90", "sum"),
    ).reset_index()
    for name, col in (("ever_30", "n30"), ("ever_60", "n60"), ("ever_90", "n90")):
        out[name] = out[col] / out["accounts"]
    return out.sort_values(["cohort", "mob"]).reset_index(drop=True)


def synthetic_status(seed: int, accounts: int = 400, gaps: bool = True) -> pd.DataFrame:
    """Random account-month histories (ID, MONTHS_BALANCE, STATUS), with gaps when asked."""
    rng = np.random.default_rng(seed)
    codes = np.array(["C", "X", "0", "1", "2", "3", "4", "5"])
    rows = []
    for account in range(accounts):
        start = int(rng.integers(-30, 0))
        end = int(rng.integers(start, 1))
        level = 0
        for month in range(start, end + 1):
            if gaps and rng.random() < 0.08:
                continue
            level = int(np.clip(level + rng.choice([-2, -1, 0, 0, 1, 1]), -1, 5))
            code = codes[int(rng.integers(0, 2))] if level < 0 else str(level)
            rows.append((f"A{account:04d}", month, code))
    frame = pd.DataFrame(rows, columns=["ID", "MONTHS_BALANCE", "STATUS"])
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
