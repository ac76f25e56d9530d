"""Roll rates against an independent pandas self-join on (account, month + 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from test_lending_status_reference import (
    pairs,
    roll_counts,
    shared_status,
    synthetic_status,
    with_level,
)

from ruleplus.lending.rollrate import RollRates, roll_rates
from ruleplus.lending.status_data import read_status, status_data


@pytest.fixture(scope="module")
def shared(shared_dir: Path) -> tuple[RollRates, pd.DataFrame]:
    data = read_status(shared_dir / "data/credit/card_approval/credit_record.csv.zip")
    return roll_rates(data), pairs(shared_status(shared_dir))


def _check_rates(rates: list[list[float] | None], counts: np.ndarray) -> None:
    totals = counts.sum(axis=1)
    for i, row in enumerate(rates):
        if totals[i] == 0:
            assert row is None
        else:
            assert row is not None
            np.testing.assert_allclose(row, counts[i] / totals[i], rtol=0, atol=1e-9)


def test_shared_file_counts_and_rates(shared: tuple[RollRates, pd.DataFrame]) -> None:
    rolls, joined = shared
    want = roll_counts(joined)
    assert rolls.counts.tolist() == want.tolist()
    assert int(rolls.counts.sum()) == len(joined)
    out = rolls.to_dict()
    assert out["buckets"] == ["current", "M1", "M2", "M3", "M4", "M5", "M6+"]
    _check_rates(out["rates"], want)
    # cure: delinquent bucket -> current; flow: i -> i + 1
    for i, name in enumerate(out["buckets"][1:], start=1):
        assert out["cure_rates"][name] == pytest.approx(want[i, 0] / want[i].sum(), abs=1e-9)
    for i in range(6):
        key = f"{out['buckets'][i]}->{out['buckets'][i + 1]}"
        assert out["flow_rates"][key] == pytest.approx(want[i, i + 1] / want[i].sum(), abs=1e-9)


def test_shared_file_by_cohort_and_month(shared: tuple[RollRates, pd.DataFrame]) -> None:
    rolls, joined = shared
    by_cohort = {c: roll_counts(g) for c, g in joined.groupby("cohort")}
    assert rolls.cohorts == sorted(by_cohort)
    for label, matrix in zip(rolls.cohorts, rolls.by_cohort, strict=True):
        assert matrix.tolist() == by_cohort[label].tolist()
    by_month = {m: roll_counts(g) for m, g in joined.groupby("MONTHS_BALANCE")}
    assert rolls.months == sorted(by_month)
    for label, matrix in zip(rolls.months, rolls.by_month, strict=True):
        assert matrix.tolist() == by_month[label].tolist()
    assert rolls.months[-1] == -1  # the last transition is -1 -> 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_with_gaps(seed: int) -> None:
    frame = synthetic_status(seed)
    rolls = roll_rates(status_data(pl.from_pandas(frame)))
    joined = pairs(with_level(frame))
    want = roll_counts(joined)
    assert rolls.counts.tolist() == want.tolist()
    _check_rates(rolls.rates, want)
    by_month = {m: roll_counts(g) for m, g in joined.groupby("MONTHS_BALANCE")}
    assert dict(zip(rolls.months, [m.tolist() for m in rolls.by_month], strict=True)) == {
        k: v.tolist() for k, v in by_month.items()
    }


def test_a_gap_breaks_the_pair() -> None:
    frame = pl.DataFrame(
        {"ID": [7, 7, 7, 8], "MONTHS_BALANCE": [-5, -4, -2, -1], "STATUS": ["0", "1", "C", "X"]}
    )
    rolls = roll_rates(status_data(frame))
    assert int(rolls.counts.sum()) == 1
    assert rolls.counts[1, 2] == 1  # M1 at -5 -> M2 at -4; -4 -> -2 is not a month apart
    assert rolls.rates[0] is None  # current never left from
