"""Vintage cells against an independent pandas groupby / cummax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from test_lending_status_reference import shared_status, synthetic_status, vintage_table, with_level

from ruleplus.lending.status_data import read_status, status_data
from ruleplus.lending.vintage import vintages

COLUMNS = ["cohort", "mob", "accounts", "ever_30", "ever_60", "ever_90"]


def _compare(got: list[dict[str, object]], want: pd.DataFrame) -> None:
    frame = pd.DataFrame(got, columns=COLUMNS)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == len(want)
    for col in ("cohort", "mob", "accounts"):
        assert frame[col].tolist() == want[col].tolist(), col
    for col in ("ever_30", "ever_60", "ever_90"):
        np.testing.assert_allclose(frame[col], want[col], rtol=0, atol=1e-9)


def test_shared_file_cells(shared_dir: Path) -> None:
    data = read_status(shared_dir / "data/credit/card_approval/credit_record.csv.zip")
    got = vintages(data).to_dict()["vintages"]
    want = vintage_table(shared_status(shared_dir))
    _compare(got, want)
    assert {tuple(sorted(c)) for c in got} == {tuple(sorted(COLUMNS))}
    # non-trivial: some cohorts do go 90+ past due
    assert max(c["ever_90"] for c in got) > 0


@pytest.mark.parametrize("seed", [4, 5])
def test_synthetic_cells(seed: int) -> None:
    frame = synthetic_status(seed)
    got = vintages(status_data(pl.from_pandas(frame))).to_dict()["vintages"]
    _compare(got, vintage_table(with_level(frame)))


def test_worst_status_is_up_to_and_including_the_mob() -> None:
    frame = pl.DataFrame(
        {
            "ID": ["a", "a", "a", "b", "b"],
            "MONTHS_BALANCE": [-3, -2, -1, -3, -2],
            "STATUS": ["0", "2", "C", "C", "1"],
        }
    )
    cells = {(c["mob"]): c for c in vintages(status_data(frame)).to_dict()["vintages"]}
    assert cells[0]["accounts"] == 2 and cells[0]["ever_30"] == 0.0
    assert cells[1]["ever_30"] == 1.0 and cells[1]["ever_60"] == 0.5  # b: code 1, a: code 2
    assert cells[2]["accounts"] == 1 and cells[2]["ever_60"] == 1.0  # a stays ever 60+
    assert cells[2]["ever_90"] == 0.0
