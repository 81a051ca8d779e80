"""Charts wing: pure ``data -> plotly Figure`` functions, the small tables the pages show, and exports
(CSV with formula escaping, PNG, PDF).

``style``           colours (anomalies always ``ANOMALY_RED``), ``MAX_POINTS`` / ``MAX_MARKERS`` and
                    display downsampling, times in the form plotly's fast JSON path writes, the shared
                    layout, the plotly template for Streamlit's theme
``series``          the readings over time, and the scored series with its band, flags and events
``forecast``        forecasts with their band, and one small chart per forecast component
``explain_charts``  SHAP bar, beeswarm, waterfall and input positions
``live_charts``     the live simulation's chart
``tables``          small UI-free shapes the pages show: tables, counters, windows
``report``          downloads: CSV (formula cells escaped), chart PNG, PDF report

May import: ``core.detect``, ``core.forecast``, ``core.explain``, ``core.live`` and below.
"""
