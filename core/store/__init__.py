"""Store wing: fitted models on disk (never pickled), the model cache's limits, a bounded
in-memory LRU, and the database (meters, readings, uploads, the model registry, detection runs,
events and labels; SQLite by default, PostgreSQL by URL).

* ``model_files``: a fitted detector <-> a folder of JSON, npz, parquet, skops, Keras and Prophet files.
* ``skops_trust``: the exact skops nodes a model file may hold, checked before anything is built.
* ``model_cache``: the run-time cache folder: its entries, size and age limits, trim, quarantine.
* ``versions``: versions of the libraries a saved model depends on.
* ``memory``: the bounded, thread-safe LRU the UI keeps fitted models in.
* ``db``: which database (``WATTSUP_DATABASE_URL`` / ``WATTSUP_HOME``), ``open_store`` (upgraded to
  the schema head), transactions, and every driver failure as one DataError line.
* ``schema``: the tables, documented column by column; ``migrations/``: Alembic, configured in code.
* ``meters``: ``MeterRepository`` (import a frame idempotently and merged by timestamp, load, list,
  delete; ``records``: the Meter and ImportResult it returns); ``readings``: frame <-> rows and the
  bulk SQL under it; ``uploads``: original bytes by sha256.
* ``runs``: ``RunRepository`` (detection runs with their events, labels) and the model registry.
* ``labels``: ``LabelRepository`` (labels checked before anything is written: span inside the data,
  no disagreeing overlap, known event, label-file columns); ``model_versions``: a meter's model
  versions from its labels, the current one, rollback.
* ``users``: ``UserRepository`` (organisations, users, memberships, sessions, API keys: hashes
  only) and ``owner_of(org)``, the ``owner`` value of an organisation's rows.

May import: ``core.errors``. It sits below ``core.detect``: the loader is handed the detector registry.
"""
