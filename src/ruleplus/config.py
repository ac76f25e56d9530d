"""Typed settings: environment first, then a ``ruleplus.toml`` file, then the default.

Modelled on Starlette's ``Config``: one small object, each key read once, and an error that
names the key when a value is malformed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruleplus.errors import ConfigError

__all__ = ["Settings", "get_settings"]

_ENV_PREFIX = "RULEPLUS_"


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse settings file: {exc}", file=str(path)) from exc
    section = data.get("ruleplus", data)
    if not isinstance(section, dict):
        raise ConfigError("the [ruleplus] section must be a table", file=str(path))
    return section


@dataclass(frozen=True)
class Settings:
    """ruleplus settings.

    Parameters
    ----------
    shared_dir : Path, default=``../shared``
        Third-party reference data, weights and conformance suites (``RULEPLUS_SHARED``).
    data_dir : Path, default=``./var``
        Where the embedded database and other state live (``RULEPLUS_DATA_DIR``).
    database_url : str, default=SQLite file under ``data_dir``
        SQLAlchemy URL (``RULEPLUS_DATABASE_URL``).
    model_dir : Path, default=``data_dir / "models"``
        Where model weights are installed and loaded from (``RULEPLUS_MODEL_DIR``).
    """

    shared_dir: Path
    data_dir: Path
    database_url: str
    model_dir: Path

    @classmethod
    def load(cls, env: dict[str, str] | None = None, file: Path | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``) and ``file``.

        Parameters
        ----------
        env : dict, optional
            Environment to read; defaults to ``os.environ``.
        file : Path, optional
            Settings file; defaults to ``RULEPLUS_CONFIG`` or ``./ruleplus.toml``.
        """
        env = dict(os.environ if env is None else env)
        file = file or Path(env.get(f"{_ENV_PREFIX}CONFIG", "ruleplus.toml"))
        from_file = _read_file(file)

        def get(key: str, default: str) -> str:
            value = env.get(_ENV_PREFIX + key.upper())
            if value is None:
                raw = from_file.get(key, default)
                if not isinstance(raw, str):
                    raise ConfigError("expected a string", key=key, file=str(file))
                value = raw
            if not value.strip():
                raise ConfigError("must not be empty", key=_ENV_PREFIX + key.upper())
            return value

        data_dir = Path(get("data_dir", "var"))
        return cls(
            shared_dir=Path(get("shared", "../shared")),
            data_dir=data_dir,
            database_url=get("database_url", f"sqlite:///{data_dir / 'ruleplus.db'}"),
            model_dir=Path(get("model_dir", str(data_dir / "models"))),
        )


def get_settings() -> Settings:
    """Return the settings of this process (read from the environment on each call)."""
    return Settings.load()
