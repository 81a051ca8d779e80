"""Alert channels, rules, silences, alert states and the notification log (issue 13).

Revision ID: 0002
Revises: 0001

Written out in full rather than built from ``core.store.schema`` (see ``0001_initial``). The worker's
tables arrive in ``0006_jobs``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
SELECTORS = "selector IN ('all', 'list', 'site', 'type')"


def _when(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _owner_name_index(table: str) -> None:
    op.create_index(
        f"uq_{table}_owner_name", table, [sa.text("coalesce(owner, '')"), "name"], unique=True
    )


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("url_sealed", sa.Text, nullable=False),
        sa.Column("url_masked", sa.String(500), nullable=False),
        _now("created"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_channels"),
    )
    _owner_name_index("alert_channels")
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("selector", sa.String(8), nullable=False),
        sa.Column("selector_values", JSON),
        sa.Column("min_score", sa.Double),
        sa.Column("types", JSON),
        sa.Column("min_excess", sa.Double),
        sa.Column("tariff", sa.Double),
        sa.Column("min_duration_h", sa.Double),
        sa.Column("quiet_hours", sa.String(11)),
        sa.Column("quiet_days", JSON),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("group_wait_s", sa.Integer, nullable=False),
        sa.Column("repeat_interval_s", sa.Integer, nullable=False),
        sa.Column("lookback_s", sa.Integer, nullable=False),
        _now("created"),
        _now("updated"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
        sa.CheckConstraint(SELECTORS, name="ck_alert_rules_selector"),
    )
    _owner_name_index("alert_rules")
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("selector", sa.String(8), nullable=False),
        sa.Column("selector_values", JSON),
        sa.Column("types", JSON),
        _when("starts", nullable=False),
        _when("ends", nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("comment", sa.Text),
        _now("created"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_silences"),
        sa.CheckConstraint(SELECTORS, name="ck_alert_silences_selector"),
    )
    op.create_index("ix_alert_silences_owner_ends", "alert_silences", ["owner", "ends"])
    op.create_table(
        "alert_states",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("peak_score", sa.Double),
        sa.Column("excess", sa.Double),
        sa.Column("cause", sa.Text),
        _when("first_seen", nullable=False),
        _when("first_sent"),
        _when("last_sent"),
        _when("ended"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_states"),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], ondelete="CASCADE", name="fk_alert_states_meter_id_meters"
        ),
        sa.UniqueConstraint("fingerprint", name="uq_alert_states_fingerprint"),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'superseded')", name="ck_alert_states_status"
        ),
    )
    op.create_index("ix_alert_states_meter_id_status", "alert_states", ["meter_id", "status"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("fingerprint", sa.String(32)),
        sa.Column("meter", sa.String(200)),
        sa.Column("rule", sa.String(200)),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("history", JSON),
        _now("created"),
        _now("updated"),
        _when("sent"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "fingerprint",
            "channel",
            "kind",
            "seq",
            name="uq_notifications_fingerprint_channel_kind_seq",
        ),
        sa.CheckConstraint(
            "kind IN ('firing', 'repeat', 'resolved', 'test')", name="ck_notifications_kind"
        ),
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed', 'suppressed', 'interrupted')",
            name="ck_notifications_status",
        ),
    )
    op.create_index("ix_notifications_owner_created", "notifications", ["owner", "created"])


def downgrade() -> None:
    op.drop_index("ix_notifications_owner_created", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_alert_states_meter_id_status", table_name="alert_states")
    op.drop_table("alert_states")
    op.drop_index("ix_alert_silences_owner_ends", table_name="alert_silences")
    op.drop_table("alert_silences")
    op.drop_index("uq_alert_rules_owner_name", table_name="alert_rules")
    op.drop_table("alert_rules")
    op.drop_index("uq_alert_channels_owner_name", table_name="alert_channels")
    op.drop_table("alert_channels")
