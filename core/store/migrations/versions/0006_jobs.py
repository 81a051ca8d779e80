"""The worker's job state (what each meter was scored up to) and its single-worker lease (issue 13).

Revision ID: 0006
Revises: 0005

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _when(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        _when("acquired", nullable=False),
        _when("heartbeat", nullable=False),
        _when("expires", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_lease"),
    )
    op.create_table(
        "meter_jobs",
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("scored_to", sa.BigInteger),
        sa.Column("open_from", sa.BigInteger),
        sa.Column("pending_run_id", sa.Integer),
        sa.Column("pending_to", sa.BigInteger),
        sa.Column("pending_open_from", sa.BigInteger),
        sa.Column("model_id", sa.Integer),
        sa.Column("trained_from", sa.BigInteger),
        sa.Column("trained_to", sa.BigInteger),
        _when("retrained"),
        _when("scored"),
        _when("forecast_at"),
        sa.Column("forecast", JSON),
        sa.Column("error", sa.Text),
        sa.Column(
            "updated", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("meter_id", name="pk_meter_jobs"),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], ondelete="CASCADE", name="fk_meter_jobs_meter_id_meters"
        ),
        sa.ForeignKeyConstraint(
            ["pending_run_id"],
            ["detection_runs.id"],
            ondelete="SET NULL",
            name="fk_meter_jobs_pending_run_id_detection_runs",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], ondelete="SET NULL", name="fk_meter_jobs_model_id_models"
        ),
    )


def downgrade() -> None:
    op.drop_table("meter_jobs")
    op.drop_table("worker_lease")
