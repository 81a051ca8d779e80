"""Run Salesforce Merlion's ``DefaultDetector`` on CSV series; meant for Merlion's own interpreter.

Merlion 2.0.4 needs ``numpy<2``, which cannot live beside WattsUp's pins (numpy 2.4), so
``benchmarks.peers`` builds a separate virtual environment and runs this file there as a script::

    <venv>/bin/python benchmarks/merlion_runner.py SPEC.json

``SPEC.json`` is ``{"series": [{"name": ..., "csv": ..., "out": ...}, ...]}``. Each input CSV has
``timestamp,value`` (missing readings already dropped). Each output CSV gets
``timestamp,score,alarm``. The model is trained on the whole series with no labels, as ours are,
then scores the same series: ``score`` is the magnitude of ``get_anomaly_score`` (Merlion's scores
are signed), ``alarm`` is 1 where Merlion's own post-rule (default calibration and threshold) is
non-zero. Its online members only score data after a given history, so the first day (two days,
or two weeks, when its ETS needs two full seasonal cycles to start) is passed as
``time_series_prev`` and left unscored. (The scores ``train`` itself returns are not on the
calibrated scale and made the default post-rule alarm every third point, so they are not used.)
This file imports nothing from WattsUp and only the standard library at module level.
"""

from __future__ import annotations

import json
import sys
import time


def run_series(csv_path: str, out_path: str) -> dict:
    import pandas as pd
    from merlion.models.defaults import DefaultDetector, DefaultDetectorConfig
    from merlion.utils import TimeSeries

    df = pd.read_csv(csv_path, parse_dates=["timestamp"]).set_index("timestamp")
    ts = TimeSeries.from_pd(df["value"].astype(float))
    t0 = time.perf_counter()
    model = DefaultDetector(DefaultDetectorConfig())
    model.train(train_data=ts)
    fit_s = time.perf_counter() - t0
    # In-sample, like ours: score the series the model was trained on. Merlion's online members
    # (ETS, RandomCutForest) only score data that follows a given history, so the first day is
    # handed over as ``time_series_prev`` and stays unscored; the rest gets ``get_anomaly_score``,
    # and the alarms are Merlion's own post-rule on those scores (what ``get_anomaly_label`` does).
    v = df["value"].astype(float)
    t1 = time.perf_counter()
    scores, k = None, 0
    # ETS needs two full seasonal cycles of history to start: try one day, then two, then two weeks
    for span in ("1D", "2D", "14D"):
        k = max(10, int((v.index < v.index[0] + pd.Timedelta(span)).sum()))
        try:
            scores = model.get_anomaly_score(
                TimeSeries.from_pd(v.iloc[k:]), time_series_prev=TimeSeries.from_pd(v.iloc[:k])
            )
            break
        except ValueError:
            if span == "14D":
                raise
    label = model.post_rule(scores).to_pd().iloc[:, 0]
    # Merlion's scores are signed (below / above expected); severity is the magnitude
    score = scores.to_pd().iloc[:, 0].abs()
    score_s = time.perf_counter() - t1
    out = pd.DataFrame({"score": score, "alarm": (label.reindex(score.index).fillna(0) != 0)})
    out["alarm"] = out["alarm"].astype(int)
    out.index.name = "timestamp"
    out.to_csv(out_path)
    return {
        "fit_s": fit_s,
        "score_s": score_s,
        "n": int(len(df)),
        "n_alarms": int(out.alarm.sum()),
        "history_points": k,
    }


def main(argv: list[str]) -> int:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    with open(argv[1]) as fh:
        spec = json.load(fh)
    import merlion

    results = {"merlion_version": getattr(merlion, "__version__", "?"), "series": {}}
    try:
        from importlib.metadata import version

        results["merlion_version"] = version("salesforce-merlion")
    except Exception:  # noqa: BLE001 - the version is informative only
        pass
    for item in spec["series"]:
        try:
            results["series"][item["name"]] = run_series(item["csv"], item["out"])
        except Exception as err:  # noqa: BLE001 - one failing series must not hide the others
            results["series"][item["name"]] = {"error": f"{type(err).__name__}: {err}"[:300]}
        print(json.dumps({item["name"]: results["series"][item["name"]]}), flush=True)
    with open(spec["result"], "w") as fh:
        json.dump(results, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
