"""Tests for ruleplus.datasets.io."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ruleplus.datasets import iter_jsonl_records, read_table, synth_applications, write_table
from ruleplus.datasets.io import SUPPORTED_EXTENSIONS
from ruleplus.errors import DataError

EXTENSIONS = [".csv", ".csv.zip", ".zip", ".jsonl", ".ndjson", ".json", ".parquet"]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synth_applications(300, seed=4)


def test_supported_extensions_are_documented() -> None:
    assert set(SUPPORTED_EXTENSIONS) == set(EXTENSIONS)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_round_trip(frame: pl.DataFrame, tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"loans{extension}"
    write_table(frame, path)
    back = read_table(path, schema_overrides={"phone": pl.String})
    assert_frame_equal(back, frame)


@pytest.mark.parametrize("extension", [".CSV", ".Parquet", ".JSONL"])
def test_extension_is_case_insensitive(frame: pl.DataFrame, tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"loans{extension}"
    write_table(frame, str(path))
    assert read_table(str(path)).height == frame.height


def test_csv_digits_become_integers_without_override(frame: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    write_table(frame, path)
    assert read_table(path).schema["phone"] == pl.Int64


def test_parse_dates_can_be_turned_off(frame: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "loans.jsonl"
    write_table(frame, path)
    back = read_table(path, parse_dates=False)
    assert back.schema["birthDate"] == pl.String
    assert back.schema["applicationTime"] == pl.String


def test_zip_holds_one_csv_named_after_archive(frame: pl.DataFrame, tmp_path: Path) -> None:
    for name in ("loans.zip", "loans.csv.zip"):
        write_table(frame, tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as archive:
            assert archive.namelist() == ["loans.csv"]


def test_zip_with_two_members_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x\n1\n")
        archive.writestr("b.csv", "x\n2\n")
    with pytest.raises(DataError, match=r"exactly one CSV.*a\.csv, b\.csv"):
        read_table(path)


def test_bad_zip_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    path.write_text("not a zip")
    with pytest.raises(DataError, match="zip"):
        read_table(path)


def test_jsonl_written_one_object_per_line(frame: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "loans.jsonl"
    write_table(frame.head(20), path)
    lines = path.read_text().splitlines()
    assert len(lines) == 20
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in records)
    assert records[0]["applicantId"] == "A0000001"


def test_jsonl_infers_from_every_line(tmp_path: Path) -> None:
    lines = [{"a": 1, "b": "x"} for _ in range(300)]
    lines += [{"a": 2.5, "c": True}, {"a": 3}]
    text = "\n".join(json.dumps(line) for line in lines[:150]) + "\n\n"
    text += "\n".join(json.dumps(line) for line in lines[150:]) + "\n"
    path = tmp_path / "mixed.ndjson"
    path.write_text(text)
    table = read_table(path)
    assert table.height == len(lines)
    assert table.schema["a"] == pl.Float64
    assert table["a"].to_list()[-3:] == [1.0, 2.5, 3.0]
    assert table["b"].null_count() == 2
    assert table["c"].to_list()[-2:] == [True, None]
    assert table["c"].null_count() == len(lines) - 1


def test_json_array_infers_from_every_object(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([{"a": 1}] * 200 + [{"a": 1.5, "b": "y"}]))
    table = read_table(path)
    assert table.schema["a"] == pl.Float64
    assert table["b"].null_count() == 200


def test_json_must_be_an_array(tmp_path: Path) -> None:
    path = tmp_path / "object.json"
    path.write_text('{"a": [1, 2]}')
    with pytest.raises(DataError, match="array"):
        read_table(path)


def test_iter_jsonl_records(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2.5, "b": null}\n')
    assert list(iter_jsonl_records(path)) == [{"a": 1}, {"a": 2.5, "b": None}]


def test_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}')
    assert list(iter_jsonl_records(path)) == [{"a": 1}, {"a": 2}]
    assert read_table(path)["a"].to_list() == [1, 2]


def test_empty_jsonl_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    assert read_table(path).shape == (0, 0)
    assert list(iter_jsonl_records(path)) == []


def _malformed(tmp_path: Path) -> Path:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n')
    return path


def test_iter_jsonl_records_names_malformed_line(tmp_path: Path) -> None:
    path = _malformed(tmp_path)
    records = iter_jsonl_records(path)
    assert next(records) == {"a": 1}
    assert next(records) == {"a": 2}
    with pytest.raises(DataError, match="line 3") as info:
        next(records)
    assert info.value.context["line"] == 3
    assert info.value.context["file"] == str(path)


def test_read_table_names_malformed_line(tmp_path: Path) -> None:
    path = _malformed(tmp_path)
    with pytest.raises(DataError, match="line 3") as info:
        read_table(path)
    assert info.value.context["line"] == 3


@pytest.mark.parametrize("line", ["[1, 2]", "7", '"text"'])
def test_jsonl_line_must_be_an_object(tmp_path: Path, line: str) -> None:
    path = tmp_path / "scalar.jsonl"
    path.write_text('{"a": 1}\n' + line + "\n")
    with pytest.raises(DataError, match=r"line 2.*not an object"):
        list(iter_jsonl_records(path))
    with pytest.raises(DataError, match="line 2"):
        read_table(path)


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"line 2.*UTF-8"):
        list(iter_jsonl_records(path))


def test_unknown_extension(frame: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "loans.xlsx"
    path.write_text("")
    with pytest.raises(DataError, match=r"\.csv.*\.parquet") as info:
        read_table(path)
    assert info.value.context["file"] == str(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataError, match="unsupported"):
        write_table(frame, tmp_path / "loans.txt")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match="no such file") as info:
        read_table(missing)
    assert info.value.context["file"] == str(missing)
    with pytest.raises(DataError, match="no such file"):
        iter_jsonl_records(tmp_path / "nowhere.jsonl")


def test_unwritable_path(frame: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write"):
        write_table(frame, tmp_path / "no" / "such" / "dir.parquet")
