"""The API's request and response bodies (pydantic), each field described in the OpenAPI schema.

* ``common``: the request base (unknown fields refused, no NaN / Infinity), ``Time`` (years
  1900-2199, the range ``core.ingest.timestamps`` reads), and JSON helpers.
* ``meters``: ``MeterCreate``, ``MeterOut``, ``MeterDeleted``.
* ``readings``: ``ReadingsReport`` (what a push did, row by row), ``RejectedRow``, ``ReadingsPage``.
* ``detection``: ``ThresholdIn``, ``DetectRequest``, ``RunOut``, ``EventOut``, ``DetectionOut``,
  ``EventsOut``, ``RunsOut``.
* ``labels``: ``LabelIn``, ``SpanLabelIn``, ``LabelOut``, ``LabelsOut``.
* ``forecast``: ``ForecastOut``.
* ``stateless``: the Azure Anomaly Detector compatible bodies of ``/v1/detect/entire`` and ``/last``.

Every time in a response is ISO 8601 text in the meter's time zone (with its offset), or without an
offset for a meter stored without one. Numbers that are undefined (no expected value at the start
of a series, say) are ``null``, never NaN.
"""
