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
  ``peak_score``, ``mean_score`` (the mean calibrated score of its flagged readings; NULL for runs
  recorded before revision 0008), ``excess`` (energy in the run's ``energy_unit``), ``cause``.
* ``labels``: ``id``, ``meter_id`` -> meters (cascade), ``start_ts``, ``end_ts``, ``verdict`` (real |
  not_anomaly | expected), ``note``, ``author`` (who), ``created`` (when), ``event_id`` (the stored
  event it judges; NULL for a span a person marked, e.g. a missed anomaly: ``real`` without an event;
  0005_labels).
* ``model_versions`` (0005_labels): a model trained for one meter from its labels: ``model_id`` ->
  models (cascade; training period, settings, library versions and folder live there), ``meter_id``
  -> meters (cascade), ``version`` (1, 2 ... per meter), ``labels_used``, ``metrics`` (JSON: precision,
  recall, F1 point- and event-wise on the labels), ``note``, ``created``. Unique on (meter_id, version).
* ``current_models`` (0005_labels): ``meter_id`` (primary key) -> meters, ``model_id`` ->
  model_versions: the version a meter's detection uses; a rollback points it at an older one.

* ``alert_channels`` (alerts, 0002): ``id``, ``owner``, ``name`` (unique per owner), ``kind`` (email,
  webhook, slack, ... from the Apprise scheme), ``url_sealed`` (the Apprise URL sealed by
  ``core.auth.secrets.seal``: never in clear), ``url_masked`` (``mask_url``: what pages and logs show).
* ``alert_rules`` (alerts, 0002): ``id``, ``owner``, ``name`` (unique per owner), ``selector`` (all | list
  | site | type) with ``selector_values`` (JSON list: meter names, sites or building types),
  ``min_score``, ``types`` (JSON list, NULL = every type), ``min_excess`` (energy, kWh), ``tariff``
  (money per kWh: the cost in the message), ``min_duration_h``, ``quiet_hours`` (``22:00-06:00`` in the
  meter's zone), ``quiet_days`` (JSON list, ``sat``...), ``channels`` (JSON list of channel names),
  ``enabled``, ``group_wait_s``, ``repeat_interval_s``, ``lookback_s`` (default 24 h), ``created``,
  ``updated``.
* ``alert_silences`` (alerts, 0002): ``id``, ``owner``, ``selector`` / ``selector_values`` (as rules),
  ``types``, ``starts`` / ``ends`` (when it mutes), ``created_by`` (who), ``comment`` (why), ``created``.
* ``alert_states`` (alerts, 0002): one row per fingerprint (owner + meter + event start + type,
  ``core.alerts.rules.fingerprint``): ``meter_id`` -> meters (cascade), ``start_ts`` / ``end_ts`` (ts),
  ``type``, ``status`` (open | resolved | superseded), ``peak_score``, ``excess``, ``cause``,
  ``first_seen``, ``first_sent`` / ``last_sent`` (any channel), ``ended`` (when it was seen to end).
* ``notifications`` (alerts, 0002): the log, one row per message meant for a channel: ``owner``,
  ``fingerprint`` (NULL for a test message), ``meter``, ``rule``, ``channel`` (names, kept as text so
  the log outlives them), ``kind`` (firing | repeat | resolved | test), ``seq`` (the repeat's number),
  ``status`` (sending | sent | failed | suppressed | interrupted), ``reason`` (the silence or rule that
  suppressed it, or the channel's error, URL masked), ``attempts``, ``message_id`` (rows sent in one
  grouped message share it), ``subject``, ``history`` (JSON list of tries: time, status, error),
  ``created``, ``updated``, ``sent``. Unique on (fingerprint, channel, kind, seq): the dedup key.
* ``worker_lease`` (the worker, 0006): ``name`` (``worker``), ``holder`` (host:pid:token of the
  worker that holds it), ``acquired``, ``heartbeat``, ``expires``: one active worker per database;
  another stands by until ``expires`` passes (``core.store.jobs``).
* ``meter_jobs`` (the worker, 0006): one row per meter, ``meter_id`` -> meters (cascade):
  ``scored_to`` (ts of the newest reading scored), ``open_from`` (start of an event still open at
  ``scored_to``: the next run rescores from there so the event keeps its start), ``pending_run_id``
  -> detection_runs (set NULL) with ``pending_to`` / ``pending_open_from`` (a run recorded whose
  events were not yet all handed to the alerts: finished first on the next pass), ``model_id`` ->
  models (set NULL: the meter's current model) with ``trained_from`` / ``trained_to`` (ts),
  ``retrained``, ``scored``, ``forecast_at`` (when each job last ran), ``forecast`` (JSON: the
  daily forecast's model, start, step and expected / lower / upper values), ``error`` (the last
  job's one-line error, NULL after a success), ``updated``. Bookkeeping of the worker, never shown
  to users: its ownership is the meter's (no ``owner`` column of its own).

Users (0003_users; ``core.store.users``, ``core.auth``): an organisation's meters are those whose
``owner`` is its slug; the default organisation (slug ``default``) owns the NULL-owner rows.

* ``organisations``: ``id``, ``slug`` (unique; the ``owner`` value of its rows), ``name``, ``created``.
* ``users``: ``id``, ``name`` (unique: the sign-in name, an e-mail for identity-provider users),
  ``password_hash`` (argon2id in PHC form; NULL for users who sign in only through the identity
  provider), ``failed_logins`` (wrong passwords since the last right one), ``last_failed``,
  ``locked_until`` (no sign-in before), ``created``.
* ``memberships``: (``user_id``, ``org_id``) -> users / organisations (cascade), ``role`` (viewer |
  analyst | admin), ``created``.
* ``sessions``: ``id``, ``token_hash`` (sha256 of the session token; the token itself is never
  stored), ``user_id``, ``org_id`` (cascade), ``created``, ``expires``.
* ``api_keys``: ``id``, ``prefix`` (the key's first characters, shown by ``apikey list``),
  ``key_hash`` (sha256 of the whole key), ``user_id``, ``org_id`` (cascade: removing a user removes
  their keys), ``scope`` (read | write), ``created``, ``revoked`` (NULL while valid).

Fleet (0004_fleet; ``core.store.fleet``, ``core.fleet``): one row per meter per fleet run, so the
Portfolio page opens on the last run without scoring anything.

* ``fleet_runs``: ``id``, ``owner`` (NULL = the workspace), ``source`` (what was scored, in words),
  ``runner`` (dask | local), ``settings`` (JSON: detector, parameters, threshold, ``open_days``,
  ``sparkline_days``), ``meters`` / ``failed`` (rows written / of them failed), ``created``,
  ``finished`` (NULL while running, or when the run was cut short).
* ``fleet_rows``: ``id``, ``run_id`` -> fleet_runs (cascade), ``meter`` (name; unique per run),
  ``site``, ``building_type``, ``unit``, ``timezone`` (of the times below, NULL when naive),
  ``points``, ``start_ts`` / ``end_ts`` / ``last_ts`` (ts: grid span, newest reading),
  ``excess_over_kwh`` / ``excess_under_kwh`` (kWh, both >= 0), ``anomaly_hours``, ``events``,
  ``open_events``, ``worst_type`` / ``worst_cause`` / ``worst_start_ts`` / ``worst_excess_kwh``
  (the event deviating most in energy), ``missing_share`` (0..1), ``flat_runs``, ``sparkline``
  (JSON list: mean reading per day), ``error`` (one line when the meter failed; the figures are
  NULL then), ``seconds`` (time to score it). Owned through its run.

``SCHEMA_REVISION`` is the
revision this code was written for (``migrations/versions/``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA_REVISION = "0008"
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
    Column("mean_score", Double),
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
ALERT_SELECTORS = ("all", "list", "site", "type")
NOTIFICATION_KINDS = ("firing", "repeat", "resolved", "test")
NOTIFICATION_STATUSES = ("sending", "sent", "failed", "suppressed", "interrupted")
ALERT_STATUSES = ("open", "resolved", "superseded")


def _owner_name_unique(table: Table) -> None:
    # NULL owners are distinct in a plain unique constraint: index the coalesced owner (as meters)
    Index(
        f"uq_{table.name}_owner_name", func.coalesce(table.c.owner, ""), table.c.name, unique=True
    )


alert_channels = Table(
    "alert_channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("url_sealed", Text, nullable=False),
    Column("url_masked", String(500), nullable=False),
    _created(),
)
_owner_name_unique(alert_channels)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("name", String(200), nullable=False),
    Column("selector", String(8), nullable=False),
    Column("selector_values", Json),
    Column("min_score", Double),
    Column("types", Json),
    Column("min_excess", Double),
    Column("tariff", Double),
    Column("min_duration_h", Double),
    Column("quiet_hours", String(11)),
    Column("quiet_days", Json),
    Column("channels", Json, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("group_wait_s", Integer, nullable=False),
    Column("repeat_interval_s", Integer, nullable=False),
    Column("lookback_s", Integer, nullable=False),
    _created(),
    Column("updated", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"selector IN {ALERT_SELECTORS!r}", name="selector"),
)
_owner_name_unique(alert_rules)

alert_silences = Table(
    "alert_silences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("selector", String(8), nullable=False),
    Column("selector_values", Json),
    Column("types", Json),
    Column("starts", DateTime(timezone=True), nullable=False),
    Column("ends", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200)),
    Column("comment", Text),
    _created(),
    CheckConstraint(f"selector IN {ALERT_SELECTORS!r}", name="selector"),
)
Index(None, alert_silences.c.owner, alert_silences.c.ends)

alert_states = Table(
    "alert_states",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("fingerprint", String(32), nullable=False),
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("start_ts", Ts, nullable=False),
    Column("end_ts", Ts, nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("peak_score", Double),
    Column("excess", Double),
    Column("cause", Text),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("first_sent", DateTime(timezone=True)),
    Column("last_sent", DateTime(timezone=True)),
    Column("ended", DateTime(timezone=True)),
    UniqueConstraint("fingerprint"),
    CheckConstraint(f"status IN {ALERT_STATUSES!r}", name="status"),
)
Index(None, alert_states.c.meter_id, alert_states.c.status)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("fingerprint", String(32)),
    Column("meter", String(200)),
    Column("rule", String(200)),
    Column("channel", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False),
    Column("message_id", String(32), nullable=False),
    Column("subject", Text),
    Column("history", Json),
    _created(),
    Column("updated", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent", DateTime(timezone=True)),
    UniqueConstraint("fingerprint", "channel", "kind", "seq"),
    CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind"),
    CheckConstraint(f"status IN {NOTIFICATION_STATUSES!r}", name="status"),
)
Index(None, notifications.c.owner, notifications.c.created)


# --- users, organisations, API keys (migration 0003_users) ---

ROLES = ("viewer", "analyst", "admin")
SCOPES = ("read", "write")

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(100), nullable=False),
    Column("name", String(200)),
    _created(),
    UniqueConstraint("slug"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(300)),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("last_failed", DateTime(timezone=True)),
    Column("locked_until", DateTime(timezone=True)),
    _created(),
    UniqueConstraint("name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    _created(),
    CheckConstraint(f"role IN {ROLES!r}", name="role"),
)
Index(None, memberships.c.org_id)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    _created(),
    Column("expires", DateTime(timezone=True), nullable=False),
    UniqueConstraint("token_hash"),
)
Index(None, sessions.c.user_id)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(8), nullable=False),
    _created(),
    Column("revoked", DateTime(timezone=True)),
    UniqueConstraint("key_hash"),
    CheckConstraint(f"scope IN {SCOPES!r}", name="scope"),
)
Index(None, api_keys.c.user_id)

# --- fleet runs and portfolio rows (migration 0004_fleet) ---

fleet_runs = Table(
    "fleet_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200)),
    Column("source", Text, nullable=False),
    Column("runner", String(16), nullable=False),
    Column("settings", Json),
    Column("meters", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    _created(),
    Column("finished", DateTime(timezone=True)),
)
Index(None, fleet_runs.c.owner, fleet_runs.c.created)

fleet_rows = Table(
    "fleet_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("fleet_runs.id", ondelete="CASCADE"), nullable=False),
    Column("meter", String(200), nullable=False),
    Column("site", String(200)),
    Column("building_type", String(100)),
    Column("unit", String(16)),
    Column("timezone", String(64)),
    Column("points", Integer),
    Column("start_ts", Ts),
    Column("end_ts", Ts),
    Column("last_ts", Ts),
    Column("excess_over_kwh", Double),
    Column("excess_under_kwh", Double),
    Column("anomaly_hours", Double),
    Column("events", Integer),
    Column("open_events", Integer),
    Column("worst_type", String(32)),
    Column("worst_cause", Text),
    Column("worst_start_ts", Ts),
    Column("worst_excess_kwh", Double),
    Column("missing_share", Double),
    Column("flat_runs", Integer),
    Column("sparkline", Json),
    Column("error", Text),
    Column("seconds", Double),
    UniqueConstraint("run_id", "meter"),
)

# --- labels and model versions (migration 0005_labels) ---
# the event a label judges (NULL for a span a person marked): no foreign key, a label outlives the
# run its event came from
labels.append_column(Column("event_id", Integer))

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("labels_used", Integer, nullable=False),
    Column("metrics", Json),
    Column("note", Text),
    _created(),
    UniqueConstraint("meter_id", "version"),
)

current_models = Table(
    "current_models",
    metadata,
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", ForeignKey("model_versions.model_id", ondelete="CASCADE"), nullable=False),
    _created(),
)

# --- the worker's job state and lease (migration 0006_jobs) ---
worker_lease = Table(
    "worker_lease",
    metadata,
    # one row per lease name ("worker"): whoever holds an unexpired row is the one active worker
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired", DateTime(timezone=True), nullable=False),
    Column("heartbeat", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

meter_jobs = Table(
    "meter_jobs",
    metadata,
    Column("meter_id", ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True),
    Column("scored_to", Ts),
    Column("open_from", Ts),
    Column("pending_run_id", ForeignKey("detection_runs.id", ondelete="SET NULL")),
    Column("pending_to", Ts),
    Column("pending_open_from", Ts),
    Column("model_id", ForeignKey("models.id", ondelete="SET NULL")),
    Column("trained_from", Ts),
    Column("trained_to", Ts),
    Column("retrained", DateTime(timezone=True)),
    Column("scored", DateTime(timezone=True)),
    Column("forecast_at", DateTime(timezone=True)),
    Column("forecast", Json),
    Column("error", Text),
    Column("updated", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
