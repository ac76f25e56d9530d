"""The migrations build exactly the schema ``tables.py`` declares, and go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from ruleplus.store import tables
from ruleplus.store._db import _alembic_config, migrate

# face_templates belongs to the identity gallery's own table definition (identity.gallery_store)
_ELSEWHERE = {"alembic_version", "face_templates"}


def _owned_elsewhere(diff: object) -> bool:
    if not isinstance(diff, tuple) or diff[0] not in {"remove_table", "remove_index"}:
        return False
    element = diff[1]
    table = getattr(element, "table", element)
    return getattr(table, "name", None) in _ELSEWHERE


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return [
                diff
                for diff in compare_metadata(context, tables.Base.metadata)
                if not _owned_elsewhere(diff)
            ]
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    assert _differences(url) == []


def test_migrations_go_down_to_the_first_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    command.downgrade(_alembic_config(url), "0001")
    migrate(url)
    assert _differences(url) == []
