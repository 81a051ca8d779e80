"""Fleet runs and their per-meter portfolio rows (issue 17).

Revision ID: 0004
Revises: 0003

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fleet_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("runner", sa.String(16), nullable=False),
        sa.Column("settings", JSON),
        sa.Column("meters", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "created", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_runs"),
    )
    op.create_index("ix_fleet_runs_owner_created", "fleet_runs", ["owner", "created"])
    op.create_table(
        "fleet_rows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("meter", sa.String(200), nullable=False),
        sa.Column("site", sa.String(200)),
        sa.Column("building_type", sa.String(100)),
        sa.Column("unit", sa.String(16)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("points", sa.Integer),
        sa.Column("start_ts", sa.BigInteger),
        sa.Column("end_ts", sa.BigInteger),
        sa.Column("last_ts", sa.BigInteger),
        sa.Column("excess_over_kwh", sa.Double),
        sa.Column("excess_under_kwh", sa.Double),
        sa.Column("anomaly_hours", sa.Double),
        sa.Column("events", sa.Integer),
        sa.Column("open_events", sa.Integer),
        sa.Column("worst_type", sa.String(32)),
        sa.Column("worst_cause", sa.Text),
        sa.Column("worst_start_ts", sa.BigInteger),
        sa.Column("worst_excess_kwh", sa.Double),
        sa.Column("missing_share", sa.Double),
        sa.Column("flat_runs", sa.Integer),
        sa.Column("sparkline", JSON),
        sa.Column("error", sa.Text),
        sa.Column("seconds", sa.Double),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_rows"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["fleet_runs.id"],
            ondelete="CASCADE",
            name="fk_fleet_rows_run_id_fleet_runs",
        ),
        sa.UniqueConstraint("run_id", "meter", name="uq_fleet_rows_run_id_meter"),
    )


def downgrade() -> None:
    op.drop_table("fleet_rows")
    op.drop_index("ix_fleet_runs_owner_created", table_name="fleet_runs")
    op.drop_table("fleet_runs")
