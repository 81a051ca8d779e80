"""Thresholds: scores -> flags for every mode, direction and min-deviation rule, without refitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.thresholds import DEFAULT_K, MODES, ThresholdSettings, flag_points, threshold_value


def scored_frame(n: int = 24 * 60, seed: int = 0) -> pd.DataFrame:
    """A scored frame with N(0, 1) scores, three clear spikes and one ten-point burst."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", name="timestamp")
    score = rng.normal(size=n)
    score[[100, 700, 1200]] += 9
    score[400:410] += 6
    expected = np.full(n, 50.0)
    deviation = rng.normal(0, 2, n)
    deviation[[100, 400, 405]] = 30.0
    deviation[[700, 1200]] = -30.0
    return pd.DataFrame(
        {
            "value": expected + deviation,
            "score": score,
            "expected": expected,
            "deviation": deviation,
        },
        index=idx,
    )


def test_default_k_is_shared():
    """The default threshold is the detectors' DEFAULT_K when defined, 3.0 otherwise."""
    assert ThresholdSettings().k == DEFAULT_K
    assert isinstance(DEFAULT_K, float)


def test_sigma_flags_scores_above_k():
    """Sigma mode flags exactly the points whose score is above k."""
    scored = scored_frame()
    flags = flag_points(scored, ThresholdSettings(mode="sigma", k=3.0))
    assert flags.dtype == bool and flags.index.equals(scored.index)
    assert (flags == (scored["score"] > 3.0)).all()
    assert threshold_value(scored, ThresholdSettings(k=2.5)) == 2.5


def test_percentile_flags_the_contamination_share():
    """Percentile 99 flags about 1 % of points, the highest ones."""
    scored = scored_frame()
    flags = flag_points(scored, ThresholdSettings(mode="percentile", percentile=99.0))
    assert flags.sum() == pytest.approx(0.01 * len(scored), abs=1)
    thr = threshold_value(scored, ThresholdSettings(mode="percentile", percentile=99.0))
    assert thr == pytest.approx(np.percentile(scored["score"], 99))
    assert scored["score"][flags].min() > scored["score"][~flags].max()


@pytest.mark.parametrize("mode", MODES)
def test_nan_scores_never_flag(mode):
    """A NaN score is never flagged, whatever the mode."""
    scored = scored_frame()
    scored.iloc[100:130, scored.columns.get_loc("score")] = np.nan
    flags = flag_points(scored, ThresholdSettings(mode=mode, k=-10.0, percentile=1.0))
    assert not flags.iloc[100:130].any()


def test_dynamic_finds_clear_anomalies_and_little_else():
    """The telemanom threshold flags the planted spikes and burst and under 1 % of the noise."""
    scored = scored_frame()
    flags = flag_points(scored, ThresholdSettings(mode="dynamic"))
    planted = np.zeros(len(scored), dtype=bool)
    planted[[100, 700, 1200]] = True
    planted[400:410] = True
    near = np.convolve(planted, np.ones(5), mode="same") > 0  # smoothing lags by a step or two
    assert flags.to_numpy()[[100, 700, 1200]].all()
    assert flags.to_numpy()[400:410].sum() >= 5
    assert (flags.to_numpy() & ~near).mean() < 0.01
    eps = threshold_value(scored, ThresholdSettings(mode="dynamic"))
    assert isinstance(eps, pd.Series) and eps.index.equals(scored.index)
    assert np.isfinite(eps).all()


def test_dynamic_on_pure_noise_flags_few_points():
    """On noise without anomalies the dynamic threshold stays quiet."""
    rng = np.random.default_rng(3)
    idx = pd.date_range("2024-01-01", periods=5000, freq="1h")
    scored = pd.DataFrame({"score": rng.normal(size=5000)}, index=idx)
    flags = flag_points(scored, ThresholdSettings(mode="dynamic"))
    assert flags.mean() < 0.01


@pytest.mark.parametrize("budget", [0, 1, 3, 10])
def test_per_month_keeps_events_within_budget(budget):
    """per_month never produces more than N events (runs of flags) in any calendar month."""
    scored = scored_frame()
    flags = flag_points(scored, ThresholdSettings(mode="per_month", alerts_per_month=budget))
    f = flags.to_numpy()
    starts = f & ~np.r_[False, f[:-1]]
    month = scored.index.to_period("M")
    # a run continuing across a month boundary starts again in the new month
    per_month = pd.Series(starts | (f & np.r_[True, month[1:] != month[:-1]]), index=month)
    counts = per_month.groupby(level=0).sum()
    assert (counts <= budget).all()
    if budget >= 3:
        assert counts.sum() >= 1


def test_per_month_threshold_is_lowest_within_budget():
    """Lowering the per-month threshold to the next score value would break the budget."""
    scored = scored_frame().iloc[: 24 * 31]
    s = ThresholdSettings(mode="per_month", alerts_per_month=5)
    thr = float(threshold_value(scored, s).iloc[0])
    lower = np.sort(scored["score"][scored["score"] < thr].to_numpy())[-1]
    f = (scored["score"] > lower).to_numpy()
    assert (f & ~np.r_[False, f[:-1]]).sum() > 5


def test_direction_uses_the_deviation_sign():
    """'over' keeps only flags above expected, 'under' only below."""
    scored = scored_frame()
    over = flag_points(scored, ThresholdSettings(k=5.0, direction="over"))
    under = flag_points(scored, ThresholdSettings(k=5.0, direction="under"))
    both = flag_points(scored, ThresholdSettings(k=5.0))
    assert over[over].index.isin(scored.index[scored["deviation"] > 0]).all()
    assert under[under].index.isin(scored.index[scored["deviation"] < 0]).all()
    assert over.iloc[100] and not under.iloc[100]
    assert under.iloc[700] and not over.iloc[700]
    assert (both == (over | under)).all()


def test_min_deviation_rules_suppress_small_deviations():
    """Flags with |deviation| below the absolute or percentage minimum are dropped."""
    scored = scored_frame()
    base = flag_points(scored, ThresholdSettings(k=5.0))
    absolute = flag_points(scored, ThresholdSettings(k=5.0, min_deviation=20.0))
    pct = flag_points(scored, ThresholdSettings(k=5.0, min_deviation_pct=40.0))  # 40 % of 50 = 20
    big = scored["deviation"].abs() >= 20.0
    assert (absolute == (base & big)).all()
    assert (pct == (base & big)).all()
    assert absolute.sum() < base.sum()


def test_settings_are_frozen_and_validated():
    """Settings can key a cache, and nonsense is refused with a message."""
    s = ThresholdSettings()
    assert hash(s) == hash(ThresholdSettings())
    with pytest.raises(AttributeError):
        s.k = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="mode"):
        ThresholdSettings(mode="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction"):
        ThresholdSettings(direction="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="percentile"):
        ThresholdSettings(percentile=100.0)


def test_flags_do_not_change_the_scored_frame():
    """Re-thresholding reads the scored frame and leaves it untouched."""
    scored = scored_frame()
    before = scored.copy()
    for mode in MODES:
        flag_points(scored, ThresholdSettings(mode=mode, direction="over", min_deviation=1.0))
    pd.testing.assert_frame_equal(scored, before)


@pytest.mark.golden
def test_every_mode_on_real_scores(shared_data, tmp_path):
    """On a real LEAD building scored by the default ensemble, every mode flags a small share of the
    year and finds more labelled events than chance would."""
    from core.detect.evaluation import evaluate
    from core.detect.pipeline import DetectorSettings, fit_detector
    from core.detect.scoring import score_frame
    from core.ingest.data import parse_upload

    path = shared_data / "lead_dev" / "building_121.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    frame = ds.frame.drop(columns="label")
    det = fit_detector(frame, ds.digest, DetectorSettings(), root=tmp_path, pretrained=None)
    scored = score_frame(det, frame)
    for mode in MODES:
        flags = flag_points(scored, ThresholdSettings(mode=mode))
        m = evaluate(ds.frame["label"], scored["score"], flags)
        assert 0 < flags.mean() < 0.15, mode
        assert m["event_recall"] > m["random_event_recall"], mode
        assert m["f1"] > 3 * m["random_f1"], mode


def test_a_reading_that_is_what_was_expected_never_flags():
    """However high its score, a reading equal to its expectation has nothing to show: no flag.
    A NaN deviation (nothing expected) leaves the flag to the score."""
    scored = scored_frame()
    scored.loc[scored.index[[100, 700]], "deviation"] = 0.0
    scored.loc[scored.index[1200], "deviation"] = 1e-12  # rounding, relative to 50 expected
    scored.loc[scored.index[405], ["deviation", "expected"]] = np.nan
    flags = flag_points(scored, ThresholdSettings(mode="sigma", k=5.0))
    assert not flags.iloc[[100, 700, 1200]].any()
    assert flags.iloc[405] and flags.iloc[400]


def test_a_noise_free_series_gives_no_events():
    """A meter whose every week repeats exactly (a constant load) is what was expected everywhere:
    the default detector used to show 'dip' events of 0 kWh there ('1.0x the usual load')."""
    from core.detect.pipeline import DetectorSettings
    from core.detect.run import run_detection

    idx = pd.date_range("2024-01-01", periods=24 * 28, freq="1h", name="timestamp")
    frame = pd.DataFrame({"value": np.full(len(idx), 5.0)}, index=idx)
    found = run_detection(frame, DetectorSettings(), freq="1h", unit="kWh")
    assert not found.flags.any() and found.events.empty
