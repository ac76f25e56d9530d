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


def test_every_service_setting_reads_env_then_file(tmp_path: Path) -> None:
    file = tmp_path / "ruleplus.toml"
    file.write_text(
        '[ruleplus]\nrate_limit = 50\npublic_ops = true\nredis_url = "redis://file"\n'
        "decision_threads = 8\n",
        encoding="utf-8",
    )
    settings = Settings.load(
        env={"RULEPLUS_RATE_LIMIT": "7.5", "RULEPLUS_IDENTITY": "off"}, file=file
    )
    assert settings.rate_limit == 7.5  # environment first
    assert settings.public_ops is True and settings.redis_url == "redis://file"  # then the file
    assert settings.workers == 8 and settings.identity is False
    assert settings.max_body_bytes == 1 << 20 and settings.partner_inflight == 96  # defaults
    assert Settings.load(env={}, file=file, workers=3).workers == 3  # overrides win


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"RULEPLUS_RATE_LIMIT": "1e400"}, "RULEPLUS_RATE_LIMIT"),
        ({"RULEPLUS_RATE_LIMIT": "-1"}, "RULEPLUS_RATE_LIMIT"),
        ({"RULEPLUS_MAX_BODY_BYTES": "lots"}, "RULEPLUS_MAX_BODY_BYTES"),
        ({"RULEPLUS_PUBLIC_OPS": "perhaps"}, "RULEPLUS_PUBLIC_OPS"),
    ],
)
def test_bad_values_name_their_key(env: dict[str, str], key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env=env, file=tmp_path / "none.toml")
    assert info.value.context["key"] == key


def test_unknown_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.load(env={}, file=tmp_path / "none.toml", colour="blue")


def test_key_files_are_created_once_and_private(tmp_path: Path) -> None:
    settings = Settings.load(env={"RULEPLUS_DATA_DIR": str(tmp_path / "var")}, file=tmp_path / "x")
    admin, secret = settings.resolved_admin_key(), settings.server_secret()
    assert admin.startswith("rpa_") and len(secret) == 64
    for name in ("admin.key", "secret.key"):
        assert (tmp_path / "var" / name).stat().st_mode & 0o777 == 0o600
    assert settings.resolved_admin_key() == admin and settings.server_secret() == secret
    configured = Settings.load(
        env={"RULEPLUS_DATA_DIR": str(tmp_path / "var"), "RULEPLUS_SECRET_KEY": "s3cret"},
        file=tmp_path / "x",
    )
    assert configured.server_secret() == b"s3cret"


def test_load_or_create_key_refuses_an_empty_file(tmp_path: Path) -> None:
    from ruleplus.config import load_or_create_key

    (tmp_path / "k").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        load_or_create_key(tmp_path / "k", lambda: "new")
