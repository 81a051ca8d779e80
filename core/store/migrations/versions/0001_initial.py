"""The first schema: meters, readings, uploads, models, detection runs, events and labels.

Revision ID: 0001
Revises: (none)

Written out in full rather than built from ``core.store.schema``: a migration must keep creating what
it created when it was written, whatever ``schema.py`` says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _created() -> sa.Column:
    return sa.Column(
        "created", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("unit", sa.String(16)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("step_seconds", sa.Integer),
        sa.Column("site", sa.String(200)),
        sa.Column("building_type", sa.String(100)),
        sa.Column("columns", JSON),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_meters"),
    )
    op.create_index(
        "uq_meters_owner_name",
        "meters",
        [sa.text("coalesce(owner, '')"), "name"],
        unique=True,
    )
    op.create_table(
        "readings",
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("covariates", JSON),
        sa.PrimaryKeyConstraint("meter_id", "ts", name="pk_readings"),  # no FK: see schema.py
        sqlite_with_rowid=False,
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("schema", JSON),
        sa.Column("report", JSON),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], ondelete="CASCADE", name="fk_uploads_meter_id_meters"
        ),
        sa.UniqueConstraint("meter_id", "sha256", name="uq_uploads_meter_id_sha256"),
    )
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"])
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("meter_id", sa.Integer),
        sa.Column("detector", sa.String(100), nullable=False),
        sa.Column("settings", JSON),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("trained_from", sa.BigInteger),
        sa.Column("trained_to", sa.BigInteger),
        sa.Column("library_versions", JSON),
        sa.Column("artefact_path", sa.Text),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], ondelete="SET NULL", name="fk_models_meter_id_meters"
        ),
        sa.UniqueConstraint("key", "version", name="uq_models_key_version"),
    )
    op.create_table(
        "detection_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.Integer),
        sa.Column("detector", sa.String(100), nullable=False),
        sa.Column("threshold", JSON),
        sa.Column("data_from", sa.BigInteger),
        sa.Column("data_to", sa.BigInteger),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("energy_unit", sa.String(16)),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_detection_runs"),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            ondelete="CASCADE",
            name="fk_detection_runs_meter_id_meters",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            ondelete="SET NULL",
            name="fk_detection_runs_model_id_models",
        ),
    )
    op.create_index("ix_detection_runs_meter_id_created", "detection_runs", ["meter_id", "created"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("peak_score", sa.Double),
        sa.Column("excess", sa.Double),
        sa.Column("cause", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["detection_runs.id"],
            ondelete="CASCADE",
            name="fk_events_run_id_detection_runs",
        ),
    )
    op.create_index("ix_events_run_id_start_ts", "events", ["run_id", "start_ts"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("author", sa.String(200)),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_labels"),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], ondelete="CASCADE", name="fk_labels_meter_id_meters"
        ),
        sa.CheckConstraint(
            "verdict IN ('real', 'not_anomaly', 'expected')", name="ck_labels_verdict"
        ),
    )
    op.create_index("ix_labels_meter_id_start_ts", "labels", ["meter_id", "start_ts"])


def downgrade() -> None:
    for table in ("labels", "events", "detection_runs", "models", "uploads", "readings"):
        op.drop_table(table)
    op.drop_index("uq_meters_owner_name", table_name="meters")
    op.drop_table("meters")
