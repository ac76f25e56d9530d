"""Settings: environment first, then the file, then defaults; errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleplus.config import Settings
from ruleplus.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.load(env={}, file=tmp_path / "missing.toml")
    assert settings.shared_dir == Path("../shared")
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/ruleplus.db"
    assert settings.model_dir == Path("var/models")


def test_environment_beats_file(tmp_path: Path) -> None:
    file = tmp_path / "ruleplus.toml"
    file.write_text(
        '[ruleplus]\ndata_dir = "from-file"\nshared = "/file/shared"\n', encoding="utf-8"
    )
    settings = Settings.load(env={"RULEPLUS_SHARED": "/env/shared"}, file=file)
    assert settings.shared_dir == Path("/env/shared")
    assert settings.data_dir == Path("from-file")


def test_bad_file_and_bad_values(tmp_path: Path) -> None:
    file = tmp_path / "ruleplus.toml"
    file.write_text("[ruleplus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot parse"):
        Settings.load(env={}, file=file)
    file.write_text("[ruleplus]\ndata_dir = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.load(env={}, file=file)
    assert info.value.context["key"] == "data_dir"
    with pytest.raises(ConfigError) as info:
        Settings.load(env={"RULEPLUS_DATA_DIR": " "}, file=tmp_path / "none.toml")
    assert info.value.context["key"] == "RULEPLUS_DATA_DIR"
