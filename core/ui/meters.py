"""Saved meters in the app: the database per process, a meter opened as a Dataset, an upload saved
into a meter, a meter deleted, and the detection runs recorded on it.

The store (``core.store``) keeps a meter's readings, the files they came from and every detection
run with its events; this module is the app's side of it. Nothing here reads a widget or session
state: ``core.ui.shell`` and the pages pass in what they read.

==========================  ======================================================================
function                    what it does
==========================  ======================================================================
``store()``                 ``open_store()`` once per server process (``st.cache_resource``); a
                            DataError, never cached, while the database cannot be opened
``meter_names()``           the saved meters' names; ``[]`` while no SQLite file exists yet (the
                            sidebar creates no database); cached ``NAMES_TTL_S`` seconds, cleared
                            by this process's saves and deletes
``open_meter(name)``        ``DatasetRef.meter(name, revision)``: the revision keys every cache
``meter_dataset(ref)``      the meter's readings on its grid as a ``Dataset`` (``cache.dataset``
                            caches it per ref); ``Dataset.digest`` hashes the readings themselves;
                            ``MeterChanged`` when they are no longer those of ``ref``'s revision
``save_meter(...)``         ``SqlMeterRepository.import_frame`` with the upload's bytes: a
                            ``SaveReport`` (counts, the first conflicting timestamps)
``delete_meter(name)``      the meter with its readings, uploads, runs and labels
``record_run(...)``         one ``SqlRunRepository.record`` per (meter revision, detector,
                            threshold) and server process (``cache.flagged`` calls it)
``last_run(ref)``           one line about the newest recorded run on a saved meter
==========================  ======================================================================

Whose meters: every function asks ``core.ui.auth`` (the one place the app decides): the visitor's
organisation once signed in, the workspace (owner NULL) while the database has no users, nobody's
for a signed-out visitor once users exist (no names; opening one is refused). A meter's
``DatasetRef`` carries its owner, so ``meter_dataset``, ``record_run`` and ``last_run`` depend on
the ref alone (the caches key on it). Saving and deleting need the ``write`` scope (analyst, admin).

Every function raises ``core.errors.DataError`` (one line) when the database fails; callers show it
through ``core.ui.status`` or as one ``st.error`` / ``st.warning`` line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.ingest.columns import DEFAULT_UNIT
from core.ingest.data import Dataset, QualityReport, Schema
from core.ingest.limits import MAX_ROWS
from core.ingest.quality import fmt_time, infer_step, step_label
from core.ingest.refs import DatasetRef
from core.store.memory import BoundedLRU
from core.store.meters import SqlMeterRepository
from core.store.records import ConflictPolicy, ImportResult
from core.store.runs import SqlRunRepository
from core.store.uploads import Upload
from core.ui import auth
from core.ui.database import database_exists, store
from core.ui.text import md_escape

__all__ = [  # store and database_exists are core.ui.database's, kept here for older imports
    "MeterChanged",
    "SaveReport",
    "database_exists",
    "delete_meter",
    "last_run",
    "meter_dataset",
    "meter_facts",
    "meter_names",
    "open_meter",
    "record_run",
    "save_meter",
    "store",
]

_log = logging.getLogger(__name__)

NAMES_TTL_S = 10  # meters saved by another process (CLI, API) show up in the sidebar this late
MAX_RECORDED = 256  # (meter revision, detector, threshold) keys already recorded in this process
CONFLICTS_LISTED = 20  # conflicting timestamps a save report names
DETECTOR_CHARS = 100  # detection_runs.detector is a String(100)


def _meters() -> SqlMeterRepository:
    return SqlMeterRepository(store())


def meter_names() -> list[str]:
    """The names of the saved meters the visitor may see, sorted; ``[]`` for a signed-out
    visitor once users exist (see the module docstring for the cache)."""
    access = auth.current_access()
    if access is None:
        return []
    return _names(access.owner)


@st.cache_data(ttl=NAMES_TTL_S, max_entries=64, show_spinner=False)
def _names(owner: str | None) -> list[str]:
    if not database_exists():
        return []
    return _meters().names(owner=owner)


def open_meter(name: str) -> DatasetRef:
    """The ref of the visitor's meter ``name`` as its readings are now; a DataError when they
    have no such meter (another organisation's is answered the same way)."""
    owner = auth.current_owner()
    return DatasetRef.meter(name, _meters().revision(name, owner=owner), owner=owner)


class MeterChanged(DataError):
    """The meter's readings changed (another session or process saved into it) since the ref was
    made: open it again (``open_meter``) so that no cache keyed on the old revision serves it."""


def meter_dataset(ref: DatasetRef) -> Dataset:
    """The readings of meter ``ref.name`` as the canonical frame on the meter's step (missing
    steps NaN); ``MeterChanged`` when they are no longer those of revision ``ref.digest``."""
    name, repo, owner = ref.name, _meters(), ref.owner
    with repo.store.reading() as conn:
        meter = repo.find_in(conn, name, owner)
    frame = repo.load(name, owner=owner)
    if (
        repo.revision(name, owner=owner) != ref.digest
    ):  # checked after the load: a save in between counts
        raise MeterChanged(f"meter {name!r} changed since it was opened: open it again.")
    if frame.empty:
        raise DataError(f"meter {name!r} has no readings: save a file into it on the Upload page.")
    step = meter.step or infer_step(frame.index.asi8)
    if step is None:
        raise DataError(f"meter {name!r} has one reading time only: save a longer file into it.")
    if frame.index.freq is None:  # readings from files with a gap between them
        grid = pd.date_range(
            frame.index[0], frame.index[-1], freq=step, name="timestamp", unit="ns"
        )
        if len(grid) > MAX_ROWS:
            raise DataError(
                f"meter {name!r} spans {len(grid):,} steps of {step_label(step)}, more than "
                f"{MAX_ROWS:,}: export a shorter period (python -m core meters export)."
            )
        frame = frame.reindex(grid)
    report = QualityReport(
        fields={
            "source": {"meter": name, "database": repo.store.where},
            "start": fmt_time(frame.index[0]),
            "end": fmt_time(frame.index[-1]),
            "freq": step_label(step),
            "points": len(frame),
            "valid_points": int(frame["value"].notna().sum()),
        }
    )
    raw = frame.reset_index()
    unit = meter.unit or DEFAULT_UNIT
    return Dataset(name, frame, raw, Schema(), report, step, unit, readings_digest(frame))


def readings_digest(frame: pd.DataFrame) -> str:
    """sha256 of a frame's times, time zone, columns and values: the fitted models' key."""
    h = hashlib.sha256(b"meter-readings")
    h.update(repr((str(frame.index.tz), list(frame.columns))).encode())
    h.update(np.ascontiguousarray(frame.index.asi8).tobytes())
    for col in frame.columns:
        h.update(np.ascontiguousarray(frame[col].to_numpy(dtype=float)).tobytes())
    return h.hexdigest()


# ---- saving and deleting --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SaveReport:
    """What "Save as meter" did: small and frozen, so the Upload page keeps it in session state."""

    meter: str
    source: str  # the file (or sample) the readings came from, as the page keys it
    policy: str
    created: bool
    inserted: int
    unchanged: int
    conflicting: int
    skipped: bool
    message: str  # ImportResult.message(): one line for people
    conflicts: tuple[str, ...]  # the first CONFLICTS_LISTED conflicting timestamps, ISO text

    @classmethod
    def of(cls, result: ImportResult, source: str) -> SaveReport:
        listed = tuple(t.isoformat(sep=" ") for t in result.conflicts[:CONFLICTS_LISTED])
        return cls(
            result.meter,
            source,
            result.policy,
            result.created,
            result.inserted,
            result.unchanged,
            result.conflicting,
            result.skipped,
            result.message(),
            listed,
        )


def report_markdown(report: SaveReport) -> str:
    """The counts of a save as a markdown list, naming the first conflicting timestamps."""
    fate = {
        "keep": "kept as stored",
        "replace": "replaced by the file's values",
        "skip": "the file was not saved",
    }[report.policy]
    lines = [
        f"- Added: **{report.inserted:,}** readings",
        f"- Already stored with the same value: **{report.unchanged:,}**",
        f"- Stored with another value: **{report.conflicting:,}**"
        + (f" ({fate})" if report.conflicting else ""),
    ]
    if report.conflicts:
        more = report.conflicting - len(report.conflicts)
        listed = ", ".join(report.conflicts) + (f" and {more:,} more" if more > 0 else "")
        lines.append(f"- Conflicting timestamps: {md_escape(listed)}")
    return "\n".join(lines)


def save_meter(
    name: str,
    ds: Dataset,
    data: bytes,
    filename: str,
    *,
    on_conflict: ConflictPolicy = "keep",
    source: str = "",
) -> SaveReport:
    """Merge ``ds``'s readings into meter ``name`` (created on first save) with the file's bytes,
    schema and quality report, in one transaction (``SqlMeterRepository.import_frame``)."""
    owner = auth.require_scope("write", "save meters")
    upload = Upload(data, filename, dataclasses.asdict(ds.schema), ds.report.to_dict())
    result = _meters().import_frame(
        name,
        ds.frame,
        unit=ds.unit,
        step=ds.freq,
        on_conflict=on_conflict,
        upload=upload,
        owner=owner,
    )
    _names.clear()
    return SaveReport.of(result, source)


def meter_facts(name: str) -> str:
    """The meter in words, "N readings from A to B", for a confirmation line."""
    meter = _meters().get(name, owner=auth.current_owner())
    if not meter.readings:
        return "no readings"
    return f"{meter.readings:,} readings from {fmt_time(meter.first)} to {fmt_time(meter.last)}"


def delete_meter(name: str) -> int:
    """Delete a meter with its readings, uploads, runs and labels; the readings removed."""
    count = _meters().delete(name, owner=auth.require_scope("write", "delete meters"))
    _names.clear()
    return count


# ---- detection runs -------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _recorded() -> BoundedLRU:
    return BoundedLRU(MAX_RECORDED)


def detector_label(settings: DetectorSettings) -> str:
    """``rolling_z``, or ``ensemble(isolation_forest+meter_fault)`` with its members."""
    members = dict(settings.params).get("members")
    label = settings.detector
    if settings.detector == "ensemble" and members:
        label += "(" + "+".join(map(str, members)) + ")"
    return label[:DETECTOR_CHARS]


def record_run(
    ref: DatasetRef,
    settings: DetectorSettings,
    threshold: ThresholdSettings,
    flags: pd.Series,
    events: pd.DataFrame,
    energy_unit: str,
    model_of: Callable[[], int | None] | None = None,
) -> bool:
    """Record the run of (``ref``, ``settings``, ``threshold``) on the saved meter once per server
    process; True when this call stored it. A DataError (nothing marked) lets a later call retry.
    ``model_of()`` gives the run's model registry id (called only when the run is recorded)."""
    if ref.source != "meter" or not len(flags):
        return False

    def make() -> int:
        model_id = None if model_of is None else model_of()
        run = SqlRunRepository(store()).record(
            ref.name,
            detector=detector_label(settings),
            threshold=dataclasses.asdict(threshold),
            events=events,
            points=len(flags),
            flagged=int(flags.fillna(False).astype(bool).sum()),
            energy_unit=energy_unit,
            model_id=model_id,
            data_from=flags.index[0],
            data_to=flags.index[-1],
            owner=ref.owner,
        )
        made.append(run.id)
        return run.id

    made: list[int] = []
    _recorded().get_or_make((ref, settings, threshold), make)
    return bool(made)


def registered_fit(ref: DatasetRef, settings: DetectorSettings, ds: Dataset) -> int | None:
    """The registry id of the model the app fitted for ``settings`` on saved meter ``ref`` (its
    folder in the model cache), registered with its training period and library versions the first
    time; None when it cannot be (no saved folder, a database fault: logged, the run is still kept)."""
    from core.detect.meters import Series, registered_model

    repo = _meters()
    try:
        with repo.store.reading() as conn:
            meter = repo.find_in(conn, ref.name, ref.owner)
        series = Series(meter=meter, frame=ds.frame, step=ds.freq, unit=ds.unit, digest=ds.digest)
        return registered_model(repo.store, series, settings)
    except DataError as err:
        _log.info("model of meter %s not registered: %s", ref.name, err)
        return None


def last_run(ref: DatasetRef) -> str:
    """One markdown line about the newest run recorded on a saved meter ("" for samples and
    uploads); a database fault is that line, not an exception."""
    if ref.source != "meter":
        return ""
    try:
        run = SqlRunRepository(store()).last(ref.name, owner=ref.owner)
    except DataError as err:
        _log.info("last run of %s: %s", ref.name, err)
        return md_escape(f"Last recorded run: not available ({err})")
    if run is None:
        return "Last recorded run: none yet (each setting shown here is recorded once)."
    when = pd.Timestamp(run.created).tz_convert("UTC")
    mode = run.threshold.get("mode", "?")
    return md_escape(
        f"Last recorded run: {when:%Y-%m-%d %H:%M} UTC, {run.detector}, {mode} threshold: "
        f"{run.events:,} events, {run.flagged:,} of {run.points:,} readings flagged."
    )
