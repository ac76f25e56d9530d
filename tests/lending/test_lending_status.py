"""Reading account-month status data: formats, options, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_lending_status_reference import BUCKET_OF, synthetic_status

from ruleplus.errors import DataError
from ruleplus.lending.delinquency import BUCKETS, code_map
from ruleplus.lending.status_data import StatusColumns, read_status, status_data


def test_buckets_are_the_issue_buckets() -> None:
    assert BUCKETS == ("current", "M1", "M2", "M3", "M4", "M5", "M6+")
    assert code_map() == BUCKET_OF


def test_shared_file_reads_with_no_options(shared_dir: Path) -> None:
    data = read_status(shared_dir / "data/credit/card_approval/credit_record.csv.zip")
    assert data.rows == 1_048_575
    assert data.accounts == 45_985
    assert data.month_kind == "index"
    assert int(data.month.min()) == -60 and int(data.month.max()) == 0
    order = np.lexsort((data.month, data.account))
    assert (order == np.arange(data.rows)).all()  # sorted by account, then month


@pytest.mark.parametrize("suffix", [".csv", ".csv.zip", ".parquet"])
def test_formats_and_renamed_columns(tmp_path: Path, suffix: str) -> None:
    frame = pl.from_pandas(synthetic_status(3, accounts=50)).rename(
        {"ID": "acct", "MONTHS_BALANCE": "m", "STATUS": "s"}
    )
    frame = frame.with_columns(pl.col("s").replace({"C": "paid", "X": "none", "0": "d1"}))
    path = tmp_path / f"status{suffix}"
    if suffix == ".csv.zip":
        import zipfile

        csv = tmp_path / "status.csv"
        frame.write_csv(csv)
        with zipfile.ZipFile(path, "w") as z:
            z.write(csv, "status.csv")
    elif suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    codes = {"paid": "current", "none": "current", "d1": "M1", "1": "M2", "2": "M3"}
    codes |= {"3": "M4", "4": "M5", "5": "M6+"}
    data = read_status(path, columns=StatusColumns("acct", "m", "s"), codes=codes)
    assert data.rows == frame.height
    got = data.frame().sort(["account", "month"])
    want = frame.sort(["acct", "m"])
    assert got["account"].to_list() == want["acct"].to_list()
    assert got["month"].to_list() == want["m"].to_list()
    names = [codes[c] for c in want["s"].to_list()]
    assert got["bucket"].to_list() == names


def test_calendar_months() -> None:
    frame = pl.DataFrame(
        {"ID": [1, 1, 1, 2], "MONTHS_BALANCE": ["2024-11", "2024-12", "2025-01", "2025-01-15"]}
    ).with_columns(STATUS=pl.Series(["C", "0", "1", "X"]))
    data = status_data(frame)
    assert data.month_kind == "calendar"
    assert np.diff(data.month[:3]).tolist() == [1, 1]  # December -> January is one month
    assert data.month_label(int(data.month[0])) == "2024-11"


def test_integer_status_column() -> None:
    frame = pl.DataFrame({"ID": [1, 1], "MONTHS_BALANCE": [-1, 0], "STATUS": [0, 5]})
    assert status_data(frame).bucket.tolist() == [1, 6]


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (pl.DataFrame({"ID": [1], "MONTHS_BALANCE": [0]}), ["status column", "STATUS"]),
        (pl.DataFrame({"ID": [1], "MONTHS_BALANCE": [0], "STATUS": ["Z"]}), ["unknown", "Z"]),
        (
            pl.DataFrame({"ID": [1, 1], "MONTHS_BALANCE": [0, 0], "STATUS": ["C", "0"]}),
            ["two rows"],
        ),
        (pl.DataFrame({"ID": [1], "MONTHS_BALANCE": [None], "STATUS": ["C"]}), ["missing"]),
        (pl.DataFrame({"ID": [1], "MONTHS_BALANCE": ["soon"], "STATUS": ["C"]}), ["soon"]),
    ],
)
def test_bad_data_is_refused_clearly(frame: pl.DataFrame, words: list[str]) -> None:
    with pytest.raises(DataError) as info:
        status_data(frame)
    for word in words:
        assert word in str(info.value)


def test_unknown_bucket_name_and_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown bucket"):
        code_map({"C": "cured"})
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(DataError, match=r"\.parquet"):
        read_status(path)


def test_late_text_in_a_numeric_looking_column(tmp_path: Path) -> None:
    # the quick reader infers types from the first rows; a later text key must still be read
    ids = [str(i // 3) for i in range(12_000)] + ["A-1"]
    months = [-(i % 3) for i in range(12_000)] + [0]
    path = tmp_path / "late.csv"
    pl.DataFrame({"ID": ids, "MONTHS_BALANCE": months, "STATUS": ["C"] * 12_001}).write_csv(path)
    data = read_status(path)
    assert data.rows == 12_001
    assert "A-1" in data.account_ids.to_list()
