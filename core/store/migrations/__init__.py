"""Alembic migrations of the store's database, configured in code (no ``alembic.ini`` at run time).

``versions/`` holds one file per schema revision (``0001_initial``: the tables of ``core.store.schema``).
``core.store.db.open_store`` upgrades a database to the head on start, and ``python -m core db upgrade``
does it by hand. A new revision: copy the newest file, bump ``revision`` / ``down_revision``, write
``upgrade`` with ``op`` calls (batch mode, so SQLite's ALTER limits are handled), change
``schema.py`` and ``schema.SCHEMA_REVISION`` to match; ``tests/store/test_db_schema.py`` checks that
the migrated tables equal the described ones on both engines.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for these migrations; ``env.py`` runs them on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this code knows."""
    head = _scripts().get_current_head()
    assert head is not None, "migrations/versions is empty"
    return head


def is_known(revision: str) -> bool:
    """Whether ``revision`` is one of ours (an unknown one was written by newer code)."""
    return revision in {script.revision for script in _scripts().walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: no WattsUp tables yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    """Run every migration after the database's revision, inside the caller's transaction."""
    command.upgrade(alembic_config(connection), "head")
