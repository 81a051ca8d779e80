"""Explain wing: why was this point flagged? SHAP values and model components as plain data, plus
one sentence a person can read.

``types``        ``Explanation`` / ``GlobalExplanation`` (one result type for every explainer),
                 ``ExplainError``, the readable label of each input
``explainers``   ``EXPLAINERS`` by name, ``member`` / ``explaining_settings`` (which part of a
                 detector explains) and ``explain_point``, the dispatcher the front doors call
``forest``       tree SHAP of the Isolation Forest, per reading and overall (``global_forest``)
``recurrent``    gradient SHAP of the LSTM forecast (kernel SHAP when that cannot run)
``learned``      tree SHAP of the learned detector's gradient boosting (log-odds of an anomaly)
``components``   Prophet's own decomposition (no SHAP: Prophet is additive already)
``sentence``     ``explanation_sentence`` and ``peak_time`` (which reading of an event to explain)

May import: ``core.detect`` and what it may import.
"""
