"""A meter's revision token (``meters.revision``), redrawn by every import that changes its readings.

Revision ID: 0007
Revises: 0006

Meters stored before this revision get a token of their own here.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meters") as batch:
        batch.add_column(sa.Column("revision", sa.String(64)))
    conn = op.get_bind()
    meters = sa.table("meters", sa.column("id", sa.Integer), sa.column("revision", sa.String))
    for (meter_id,) in conn.execute(sa.select(meters.c.id)).all():
        conn.execute(
            meters.update().where(meters.c.id == meter_id).values(revision=secrets.token_hex(32))
        )


def downgrade() -> None:
    with op.batch_alter_table("meters") as batch:
        batch.drop_column("revision")
