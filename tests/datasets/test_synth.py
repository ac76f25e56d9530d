"""Tests for ruleplus.datasets.synth."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ruleplus.datasets import APPLICATION_SCHEMA, synth_applications

CORE = {
    "applicantId": pl.String,
    "creditScore": pl.Int64,
    "monthlyIncome": pl.Int64,
    "monthlyDebt": pl.Int64,
    "loanAmount": pl.Int64,
    "termMonths": pl.Int64,
    "employmentYears": pl.Float64,
    "delinquencies24m": pl.Int64,
    "residentialStatus": pl.String,
}
NULLABLE = {"utilization", "employmentType", "ipAddress"}


@pytest.fixture(scope="module")
def small() -> pl.DataFrame:
    return synth_applications(5_000, seed=7)


@pytest.fixture(scope="module")
def large() -> pl.DataFrame:
    return synth_applications(50_000, seed=11)


def test_same_seed_gives_identical_frame() -> None:
    assert_frame_equal(synth_applications(500, seed=3), synth_applications(500, seed=3))


def test_different_seeds_differ() -> None:
    assert not synth_applications(500, seed=1).equals(synth_applications(500, seed=2))


@pytest.mark.parametrize("rows", [0, -5, 2.5, True, "10"])
def test_invalid_rows_raise_naming_rows(rows: object) -> None:
    with pytest.raises(ValueError, match="rows"):
        synth_applications(rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("rows", [1, 2, 3, 17])
def test_tiny_frames(rows: int) -> None:
    frame = synth_applications(rows, seed=5)
    assert frame.height == rows
    assert frame.schema == APPLICATION_SCHEMA


def test_schema_and_core_columns(small: pl.DataFrame) -> None:
    assert small.schema == APPLICATION_SCHEMA
    for name, dtype in CORE.items():
        assert small.schema[name] == dtype, name


def test_only_optional_columns_have_nulls(small: pl.DataFrame) -> None:
    counts = small.null_count().row(0, named=True)
    for name, count in counts.items():
        if name not in NULLABLE:
            assert count == 0, name
    assert 0 < counts["utilization"] < small.height * 0.3
    assert 0 < counts["employmentType"] < small.height * 0.05
    offline = small.filter(pl.col("channel") == "offline")
    assert offline["ipAddress"].null_count() == offline.height


def test_identifiers(small: pl.DataFrame) -> None:
    ids = small["applicantId"]
    assert ids.n_unique() == small.height
    assert ids[0] == "A0000001"
    assert ids.str.contains(r"^A\d{7}$").all()
    assert small["phone"].str.contains(r"^1[3-9]\d{9}$").all()
    assert small["deviceId"].str.contains(r"^D[0-9a-f]{12}$").all()
    octet = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    ip = small["ipAddress"].drop_nulls()
    assert ip.str.contains(rf"^{octet}(\.{octet}){{3}}$").all()
    assert small["partner"].str.contains(r"^P(0[1-9]|1[0-2])$").all()


def test_value_ranges(small: pl.DataFrame) -> None:
    assert small["creditScore"].is_between(300, 900).all()
    assert (small["monthlyIncome"] > 0).all()
    assert (small["monthlyDebt"] >= 0).all()
    assert (small["loanAmount"] > 0).all()
    assert set(small["termMonths"].unique()) <= {3, 6, 12, 24, 36, 48, 60, 84}
    assert (small["employmentYears"] >= 0).all()
    assert (small["employmentYears"] * 4 % 1 == 0).all()
    assert (small["delinquencies24m"] >= 0).all()
    assert (small["delinquencies24m"] == 0).mean() > 0.7  # type: ignore[operator]
    assert (small["inquiries6m"] >= 0).all()
    assert (small["existingLoans"] >= 0).all()
    assert small["utilization"].drop_nulls().is_between(0.0, 1.5).all()
    assert small["defaultProb"].is_between(0.0, 1.0, closed="none").all()
    assert set(small["defaulted"].unique()) <= {0, 1}
    assert set(small["residentialStatus"].unique()) == {"rent", "own", "mortgage", "family"}
    assert set(small["gender"].unique()) == {"F", "M"}
    assert set(small["channel"].unique()) == {"app", "web", "h5", "api", "offline"}
    assert set(small["product"].unique()) == {"cash_loan", "installment", "credit_line"}
    employment = set(small["employmentType"].drop_nulls().unique())
    assert {"salaried", "self_employed", "student", "unemployed"} <= employment
    assert {"consumer_goods", "education", "travel", "medical", "car"} <= set(small["purpose"])


def test_ages_are_whole_years_at_application(small: pl.DataFrame) -> None:
    assert small["age"].is_between(18, 65).all()
    assert small["age"].median() < 32  # type: ignore[operator]
    for birth, when, age in small.select("birthDate", "applicationTime", "age").head(500).rows():
        day = when.date()
        expected = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
        assert age == expected


def test_application_times_span_two_years_in_order(small: pl.DataFrame) -> None:
    times = small["applicationTime"]
    assert times.is_sorted()
    assert times.min() >= dt.datetime(2023, 1, 1)  # type: ignore[operator]
    assert times.max() < dt.datetime(2025, 1, 1)  # type: ignore[operator]
    assert times.dt.year().n_unique() == 2


def test_some_devices_and_phones_are_shared(large: pl.DataFrame) -> None:
    devices = large.group_by("deviceId").len()
    assert devices["len"].max() >= 3  # type: ignore[operator]
    assert 0.9 < devices.height / large.height < 0.99
    assert large["phone"].n_unique() < large.height


def test_bad_rate_in_range(large: pl.DataFrame) -> None:
    rate = large["defaulted"].mean()
    assert 0.05 <= rate <= 0.10  # type: ignore[operator]
    assert abs(float(large["defaultProb"].mean()) - float(rate)) < 0.01  # type: ignore[arg-type]


def _rate_by_quintile(frame: pl.DataFrame, driver: pl.Expr) -> list[float]:
    quintile = (driver.rank("ordinal") * 5 - 1) // pl.len()
    rates = frame.group_by(quintile.alias("q")).agg(pl.col("defaulted").mean()).sort("q")
    return rates["defaulted"].to_list()


def test_default_rate_falls_as_score_rises(large: pl.DataFrame) -> None:
    rates = _rate_by_quintile(large, pl.col("creditScore"))
    assert len(rates) == 5
    assert all(a > b for a, b in pairwise(rates))
    assert rates[0] > 4 * rates[-1]


def test_default_rate_rises_with_debt_to_income(large: pl.DataFrame) -> None:
    rates = _rate_by_quintile(large, pl.col("monthlyDebt") / pl.col("monthlyIncome"))
    assert rates[-1] > rates[0]


def test_default_rate_higher_with_delinquencies(large: pl.DataFrame) -> None:
    rates = large.group_by(pl.col("delinquencies24m") > 0).agg(pl.col("defaulted").mean())
    by_flag = dict(rates.rows())
    assert by_flag[True] > 1.5 * by_flag[False]
