"""The database tables (SQLAlchemy Core). ``migrations/`` creates them; this module describes them.

A data timestamp (a reading, an event's or a label's span, a training period) is a ``BIGINT`` of
microseconds since 1970-01-01 UTC: one integer compares, sorts and indexes the same on SQLite and
PostgreSQL, and a year of readings converts to and from pandas in one vectorised step. A meter whose
file had no time zone stores its wall-clock times as if they were UTC and has ``timezone`` NULL.
Bookkeeping times (``created``) are ``DateTime(timezone=True)``. JSON columns are ``JSONB`` on
PostgreSQL. ``owner`` columns are NULL until users exist (a later issue); a name is unique per owner.

Tables (``metadata.tables``):

* ``meters``: ``id``, ``name``, ``owner`` (NULL = the workspace), ``unit`` (Wh, kWh, MWh, W, kW, MW),
  ``timezone`` (IANA name, NULL when naive), ``step_seconds`` (the grid, NULL when unknown), ``site``,
  ``building_type``, ``columns`` (JSON list: the covariate names in frame order), ``revision`` (a
  random token redrawn by every import that changes the readings: the caches' key), ``created``.
  Unique on (owner, name), NULL owners counted as one.
* ``readings``: ``meter_id`` (meters.id; no foreign key, see below), ``ts``, ``value`` (double, NULL = missing),
  ``covariates`` (JSON object ``{name: number}`` with missing ones left out, NULL when none).
  Primary key (meter_id, ts); a SQLite ``WITHOUT ROWID`` table, so a meter's readings lie in time
  order. A reading is its value and its covariates: two readings at one time are equal only if both are.
  A foreign key would be checked row by row (PostgreSQL: more time than the rest of a bulk import),
  so the meter's lock stands in for it: imports and deletes of one meter queue behind each other,
  and deleting a meter deletes its readings in the same transaction.
* ``uploads``: ``id``, ``meter_id`` -> meters (cascade), ``sha256`` of the file's bytes (kept at
  ``WATTSUP_HOME/blobs/<sha256>``), ``filename``, ``size_bytes``, ``schema`` (JSON: the column choices),
  ``report`` (JSON: the quality report, ``core.ingest.data`` documents its keys), ``created``.
  Unique on (meter_id, sha256): saving the same file twice is one upload.
* ``models``: the registry of fitted models: ``id``, ``meter_id`` -> meters (set NULL), ``detector``,
  ``settings`` (JSON), ``key`` (the cache key of data + settings), ``version`` (1, 2 ... per key),
  ``trained_from`` / ``trained_to`` (ts), ``library_versions`` (JSON), ``artefact_path`` (the model
  folder, in the safe formats of ``model_files``; never a pickle), ``created``. Unique on (key, version).
* ``detection_runs``: ``id``, ``meter_id`` -> meters (cascade), ``model_id`` -> models (set NULL),
  ``detector``, ``threshold`` (JSON: the ThresholdSettings), ``data_from`` / ``data_to`` (ts),
  ``points``, ``flagged``, ``events`` (counts), ``energy_unit``, ``created``.
* ``events``: ``id``, ``run_id`` -> detection_runs (cascade), ``start_ts``, ``end_ts``, ``type``
  (the types of ``core.detect.events``: spike, dip, drop_to_zero, flat, level_shift, ...),
  ``peak_score``, ``excess`` (energy in the run's ``energy_unit``), ``cause`` (one sentence).
* ``labels``: ``id``, ``meter_id`` -> meters (cascade), ``start_ts``, ``end_ts``, ``verdict`` (real |
  not_anomaly | expected), ``note``, ``author`` (who), ``created`` (when).

Alert rules, notifications and users arrive with their own migrations; ``SCHEMA_REVISION`` is the
revision this code was written for (``migrations/versions/``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA_REVISION = "0007"
VERDICTS = ("real", "not_anomaly", "expected")

# one naming convention, so constraints have the same names on both engines and in migrations
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")
Ts = BigInteger  # microseconds since 1970 UTC (see the module docstring)


def _created() -> Column:
    return Column("created", DateTime(timezone=True), nullable=False, server_default=func.now())


meters = Table(
    "meters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner", String(200)),
    Column("unit", String(16)),
    Column("timezone", String(64)),
    Column("step_seconds", Integer),
    Column("site", String(200)),
    Column("building_type", String(100)),
    Column("columns", Json),
    Column("revision", String(64)),
    _created(),
)
# NULL owners are distinct in a plain unique constraint on both engines: index the coalesced owner
Index("uq_meters_owner_name", func.coalesce(meters.c.owner, ""), meters.c.name, unique=True)

readings = Table(
    "readings",
    metadata,
    # no foreign key: PostgreSQL checks one per row, which cost more than the rest of an import;
    # imports lock their meter instead and delete_meter removes the readings (core.store.meters)
    Column("meter_id", Integer, primary_key=True),
    Column("ts", Ts, primary_key=True),
    Column("value", Double),
    Column("covariates", Json),
    sqlite_with_rowid=False,
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(500), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("schema", Json),
    Column("report", Json),
    _created(),
    UniqueConstraint("meter_id", "sha256"),
)
Index(None, uploads.c.sha256)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id", ondelete="SET NULL")),
    Column("detector", String(100), nullable=False),
    Column("settings", Json),
    Column("key", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("trained_from", Ts),
    Column("trained_to", Ts),
    Column("library_versions", Json),
    Column("artefact_path", Text),
    _created(),
    UniqueConstraint("key", "version"),
)

detection_runs = Table(
    "detection_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("model_id", ForeignKey("models.id", ondelete="SET NULL")),
    Column("detector", String(100), nullable=False),
    Column("threshold", Json),
    Column("data_from", Ts),
    Column("data_to", Ts),
    Column("points", Integer, nullable=False),
    Column("flagged", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("energy_unit", String(16)),
    _created(),
)
Index(None, detection_runs.c.meter_id, detection_runs.c.created)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("detection_runs.id", ondelete="CASCADE"), nullable=False),
    Column("start_ts", Ts, nullable=False),
    Column("end_ts", Ts, nullable=False),
    Column("type", String(32), nullable=False),
    Column("peak_score", Double),
    Column("excess", Double),
    Column("cause", Text),
)
Index(None, events.c.run_id, events.c.start_ts)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("start_ts", Ts, nullable=False),
    Column("end_ts", Ts, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("note", Text),
    Column("author", String(200)),
    _created(),
    CheckConstraint(f"verdict IN {VERDICTS!r}", name="verdict"),
)
Index(None, labels.c.meter_id, labels.c.start_ts)

# --- alerts and the worker (migration 0002_alerts) ---

# --- users, organisations, API keys (migration 0003_users) ---

# --- fleet runs and portfolio rows (migration 0004_fleet) ---

# --- labels and model versions (migration 0005_labels) ---

# --- the worker's job state and lease (migration 0006_jobs) ---
