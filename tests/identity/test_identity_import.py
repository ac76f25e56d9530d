"""``import ruleplus`` and the plain parts of ``ruleplus.identity`` need no face dependency."""

from __future__ import annotations

import subprocess
import sys


def test_identity_import_is_light() -> None:
    code = (
        "import sys, ruleplus, ruleplus.identity, ruleplus.cli.face\n"
        "from ruleplus.identity import id_valid, bank_card_valid, IdentityError\n"
        "heavy = {'cv2', 'torch', 'dlib', 'hnswlib', 'sqlalchemy', 'onnxruntime', 'PIL'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_identity_error_codes() -> None:
    import pytest

    from ruleplus.errors import RuleplusError
    from ruleplus.identity import ERROR_CODES, IdentityError

    exc = IdentityError("no_face", "no face was found", file="a.jpg")
    assert isinstance(exc, RuleplusError) and exc.http_status == ERROR_CODES["no_face"] == 422
    assert exc.to_dict()["code"] == "no_face"
    with pytest.raises(ValueError):
        IdentityError("made_up", "x")
