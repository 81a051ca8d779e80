"""Label and model-version additions (issue 14): the event a label judges, model versions per meter
with their metrics on the labels, and which version is current.

Revision ID: 0005
Revises: 0004

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.add_column(sa.Column("event_id", sa.Integer))
    op.create_table(
        "model_versions",
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("labels_used", sa.Integer, nullable=False),
        sa.Column("metrics", JSON),
        sa.Column("note", sa.Text),
        sa.Column(
            "created", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("model_id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            ondelete="CASCADE",
            name="fk_model_versions_model_id_models",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            ondelete="CASCADE",
            name="fk_model_versions_meter_id_meters",
        ),
        sa.UniqueConstraint("meter_id", "version", name="uq_model_versions_meter_id_version"),
    )
    op.create_table(
        "current_models",
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("meter_id", name="pk_current_models"),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            ondelete="CASCADE",
            name="fk_current_models_meter_id_meters",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["model_versions.model_id"],
            ondelete="CASCADE",
            name="fk_current_models_model_id_model_versions",
        ),
    )


def downgrade() -> None:
    op.drop_table("current_models")
    op.drop_table("model_versions")
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("event_id")
