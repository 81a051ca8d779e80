"""Quality table on the labelled LEAD buildings (and optionally NAB realKnownCause).

Every detector is fitted unsupervised on each whole file; labels are only used to score the result.
F1 uses the default threshold ``calibrated > DEFAULT_K``.

    python3 scripts/tune_lead.py                       # every fast detector + random
    python3 scripts/tune_lead.py ensemble '{"combine": "max"}'
    python3 scripts/tune_lead.py --nab ensemble,isolation_forest,random
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.detect.detectors import REGISTRY  # noqa: E402
from core.detect.detectors.ensemble import DEFAULT_K  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FAST = [
    "ensemble",
    "isolation_forest",
    "lof",
    "ocsvm",
    "seasonal_naive",
    "rolling_z",
    "meter_fault",
]


def lead_frames() -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted((DATA / "lead_dev").glob("building_*.csv")):
        raw = pd.read_csv(path, parse_dates=["timestamp"]).set_index("timestamp").sort_index()
        idx = pd.date_range(raw.index[0], raw.index[-1], freq="1h", name="timestamp")
        raw = raw[~raw.index.duplicated()].reindex(idx)
        out[path.stem.replace("building_", "b")] = pd.DataFrame(
            {"value": raw["meter_reading"].astype(float), "label": raw["anomaly"].astype(float)},
            index=idx,
        )
    return out


def nab_frames() -> dict[str, pd.DataFrame]:
    windows = json.loads((DATA / "nab_real_known_cause" / "windows.json").read_text())
    out = {}
    for key, wins in windows.items():
        path = DATA / "nab_real_known_cause" / Path(key).name
        raw = pd.read_csv(path, parse_dates=["timestamp"]).set_index("timestamp").sort_index()
        raw = raw[~raw.index.duplicated()]
        step = pd.Series(raw.index).diff().mode().iloc[0]
        v = raw["value"].astype(float).resample(step).mean()  # some files drift off the grid
        idx = v.index.rename("timestamp")
        label = pd.Series(0.0, index=idx)
        for a, b in wins:
            label[(idx >= pd.Timestamp(a)) & (idx <= pd.Timestamp(b))] = 1.0
        out[path.stem] = pd.DataFrame({"value": v.astype(float), "label": label}, index=idx)
    return out


def evaluate(frame: pd.DataFrame, name: str, params: dict) -> dict:
    y = frame["label"].to_numpy()
    t0 = time.perf_counter()
    if name == "random":
        s = np.random.default_rng(0).random(len(frame))
        flags = s > 1 - 0.023
    else:
        det = REGISTRY[name](**params).fit(frame[["value"]])
        s = det.score(frame[["value"]]).to_numpy()
        z = det.calibrated(frame[["value"]]).to_numpy()
        flags = np.nan_to_num(z, nan=-np.inf) > DEFAULT_K
    secs = time.perf_counter() - t0
    ok = np.isfinite(y)
    s = np.where(np.isfinite(s), s, np.nanmin(s) if np.isfinite(s).any() else 0.0)
    return {
        "auc_roc": roc_auc_score(y[ok], s[ok]),
        "auc_pr": average_precision_score(y[ok], s[ok]),
        "f1": f1_score(y[ok], flags[ok]),
        "flagged": flags.mean(),
        "secs": secs,
    }


def main(argv: list[str]) -> None:
    nab = "--nab" in argv
    argv = [a for a in argv if a != "--nab"]
    names = argv[0].split(",") if argv else [*FAST, "random"]
    params = json.loads(argv[1]) if len(argv) > 1 else {}
    frames = nab_frames() if nab else lead_frames()
    rows = []
    for name in names:
        for key, frame in frames.items():
            rows.append({"detector": name, "data": key, **evaluate(frame, name, params)})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    wide = table.pivot(index="detector", columns="data", values=["auc_roc", "auc_pr", "f1"])
    means = table.groupby("detector")[["auc_roc", "auc_pr", "f1", "flagged", "secs"]].mean()
    print(wide.round(3).to_string())
    print(means.round(3).sort_values("auc_roc", ascending=False).to_string())


if __name__ == "__main__":
    main(sys.argv[1:])
