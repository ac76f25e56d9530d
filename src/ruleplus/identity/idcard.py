"""Chinese resident ID numbers: see :mod:`ruleplus.checks.idcard` (re-exported here)."""

from __future__ import annotations

from ruleplus.checks.idcard import (
    IdCardInfo,
    id_age,
    id_check_char,
    id_gender,
    id_province,
    id_valid,
    parse_id_number,
)

__all__ = [
    "IdCardInfo",
    "id_age",
    "id_check_char",
    "id_gender",
    "id_province",
    "id_valid",
    "parse_id_number",
]
