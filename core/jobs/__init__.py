"""The worker wing: scheduled jobs (APScheduler, only here) over the store, never in Streamlit.

=============  ==================================================================================
module         what it holds
=============  ==================================================================================
``policy``     ``JobPolicy``: detector, threshold, training / context / backfill windows,
               retrain and forecast intervals, poll and lease timings (one validated value)
``models``     a meter's current model: its lineage in the registry, loaded or fitted
``scoring``    ``score_meter``: new readings -> the one detection run -> recorded run -> alerts,
               resumable after a kill (``meter_jobs.pending_run_id``)
``upkeep``     the daily forecast refresh and retraining by policy
``dispatch``   the ``Dispatch`` seam and ``alerts_dispatch`` (``core.alerts.dispatch.process``)
``parallel``   a big pass split over child processes (``--processes N``)
``worker``     ``Worker``: the lease, the scheduled jobs (``run_forever``) and ``run_once``
=============  ==================================================================================

May import ``core.alerts`` and every wing below it (``detect``, ``forecast``, ``store`` ...);
``core.commands.worker`` is its front door (``python -m core worker [--once]``).
"""
