"""Fleet wing: score many meters with the one detection run, rank them by wasted energy.

``portfolio``  THE per-meter function: ``score_meter(MeterInput, FleetSettings) -> MeterResult``
               (a ``PortfolioRow`` and the events of ``core.detect.run.run_detection``), ``with_cost``
``sources``    where meters come from, one at a time: saved meters (by owner), a long-format file
               (one meter per id of its meter column), a folder; items load on the worker
``batch``      ``score_batch``: the task every runner maps (a few meters, one outcome each)
``runner``     ``score_fleet``: the same ``score_batch`` mapped in a plain loop or on Dask,
               streaming outcomes (a failing meter is an outcome with its one-line error), progress
``cluster``    the Dask side: a ``LocalCluster`` sized to the machine or the scheduler at
               ``WATTSUP_DASK_SCHEDULER``; batches with a bounded number in flight
               (``distributed.as_completed``). The only module that imports ``distributed``
``run``        ``run_fleet``: a source through a runner into the store (``core.store.fleet``) and
               CSV files, as meters finish; the ``FleetSummary`` the CLI and the page show

May import: ``core.detect``, ``core.ingest``, ``core.store`` and below. ``runner`` imports
``cluster`` inside the function that starts a Dask run, so the page and the command line pay for
Dask's import only then.
"""
