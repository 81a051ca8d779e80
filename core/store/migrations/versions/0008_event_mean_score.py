"""An event's mean calibrated score (``events.mean_score``) beside its peak.

Revision ID: 0008
Revises: 0007

Events recorded before this revision keep NULL: their runs' scores were not stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("mean_score", sa.Double()))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("mean_score")
