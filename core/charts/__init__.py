"""Charts wing: pure ``data -> plotly Figure`` functions, the small tables the pages show, and exports
(CSV with formula escaping, PNG, PDF).

May import: ``core.detect``, ``core.forecast``, ``core.explain``, ``core.live`` and below.
"""
