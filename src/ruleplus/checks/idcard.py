"""Chinese resident identity card numbers (GB 11643-1999).

An 18-character number is ``RRRRRR YYYYMMDD SSS C``: region code (the first two digits name the
province), birth date, sequence (its last digit, the 17th character, is odd for men and even for
women) and a check character computed with ISO 7064 MOD 11-2 (``X`` stands for 10). Fifteen-digit
numbers issued before 1999 (``RRRRRR YYMMDD SSS``, 19YY, no check character) are accepted when
``allow_15=True``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "PROVINCES",
    "IdCardInfo",
    "id_age",
    "id_check_char",
    "id_gender",
    "id_province",
    "id_valid",
    "parse_id_number",
]

#: Province-level codes (first two digits) and their names.
PROVINCES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
    "71": "台湾",
    "81": "香港",
    "82": "澳门",
    "83": "台湾居民居住证",
}
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_PATTERN18 = re.compile(r"^\d{17}[\dX]$")
_PATTERN15 = re.compile(r"^\d{15}$")


@dataclass(frozen=True)
class IdCardInfo:
    """The result of parsing an ID number.

    Parameters
    ----------
    valid : bool
    number : str
        Normalised (upper-case ``X``, spaces removed; 15-digit numbers upgraded to 18).
    region_code, province : str or None
    birth_date : datetime.date or None
    age : int or None
        Whole years on the reference date.
    gender : {"male", "female"} or None
    errors : list of str
        ``format``, ``region``, ``birth_date``, ``future_birth_date``, ``checksum``.
    """

    valid: bool
    number: str
    region_code: str | None = None
    province: str | None = None
    birth_date: date | None = None
    age: int | None = None
    gender: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "valid": self.valid,
            "region_code": self.region_code,
            "province": self.province,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "age": self.age,
            "gender": self.gender,
            "errors": self.errors,
        }


def id_check_char(first17: str) -> str:
    """Return the check character for the first 17 digits."""
    if not re.fullmatch(r"\d{17}", first17):
        raise ValueError("expected 17 digits")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parse_id_number(number: str, on: date | None = None, allow_15: bool = False) -> IdCardInfo:
    """Validate and decode an ID number.

    Parameters
    ----------
    number : str
    on : datetime.date, optional
        Reference date for the age and the future-birth check; defaults to today.
    allow_15 : bool, default=False
        Accept the pre-1999 15-digit form.
    """
    on = on or date.today()
    text = re.sub(r"\s", "", str(number)).upper()
    if allow_15 and _PATTERN15.match(text):
        first17 = text[:6] + "19" + text[6:]
        text = first17 + id_check_char(first17)
    if not _PATTERN18.match(text):
        return IdCardInfo(False, text, errors=["format"])
    errors = []
    region = text[:6]
    province = PROVINCES.get(text[:2])
    if province is None:
        errors.append("region")
    try:
        born: date | None = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
        errors.append("birth_date")
    if born is not None and (born > on or born.year < 1880):
        errors.append("future_birth_date" if born > on else "birth_date")
    if id_check_char(text[:17]) != text[17]:
        errors.append("checksum")
    gender = "male" if int(text[16]) % 2 == 1 else "female"
    age = _age(born, on) if born is not None and born <= on else None
    return IdCardInfo(not errors, text, region, province, born, age, gender, errors)


def id_valid(number: str, on: date | None = None) -> bool:
    """Whether an 18-character ID number is valid (format, region, date, checksum)."""
    return parse_id_number(number, on).valid


def id_age(number: str, on: date | None = None) -> int | None:
    """Age in whole years on ``on`` (today by default); ``None`` for an invalid number."""
    info = parse_id_number(number, on)
    return info.age if info.valid else None


def id_gender(number: str) -> str | None:
    """``"male"`` or ``"female"`` from the 17th digit; ``None`` for an invalid number."""
    info = parse_id_number(number)
    return info.gender if info.valid else None


def id_province(number: str) -> str | None:
    """Province name from the first two digits; ``None`` for an invalid number."""
    info = parse_id_number(number)
    return info.province if info.valid else None
