"""Ingest wing: bytes -> validated, typed ``Dataset`` (readers, columns, timestamps, cleaning, the
quality report) and the bundled samples.

Uploads are untrusted: ``limits`` holds every limit on what one upload may cost (with its reason
and, where an operator would tune it, an environment variable); ``declared`` refuses a file from
what it declares (footer, line count, header) before a table is built; ``guarded`` runs
``parse_upload`` / ``guess_schema`` in a ``worker`` process under a memory and time limit, and
``wire`` carries the result back as JSON and Arrow IPC, never a pickle.

May import: ``core.errors``. Nothing else in ``core``.
"""
