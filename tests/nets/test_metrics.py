import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import roc_auc_score

import nets
from nets import metrics


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(0, 2**31 - 1), st.booleans(), st.booleans())
def test_auc_matches_sklearn(n, seed, ties, weighted):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]  # both classes present
    scores = rng.integers(0, 4, n).astype(float) if ties else rng.normal(size=n) + labels
    weights = rng.uniform(0.1, 3.0, n) if weighted else None
    expected = roc_auc_score(labels, scores, sample_weight=weights)
    assert metrics.auc(scores, labels, weights) == pytest.approx(expected, abs=1e-12)


def test_auc_hand_made_cases():
    assert metrics.auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert metrics.auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert metrics.auc([0.5, 0.5], [0, 1]) == 0.5
    assert np.isnan(metrics.auc([0.1, 0.2], [1, 1]))


def test_background_efficiency_hand_made_cases():
    # 20 signal at 1..20, the cut keeping 95 % (19 of 20) is score >= 2
    signal = np.arange(1, 21, dtype=float)
    background = np.array([0.5, 1.5, 2.0, 3.0, 25.0])
    scores = np.r_[signal, background]
    labels = np.r_[np.ones(20), np.zeros(5)]
    assert metrics.background_efficiency(scores, labels, 0.95) == pytest.approx(3 / 5)
    # keeping all the signal needs score >= 1: only 0.5 is rejected
    assert metrics.background_efficiency(scores, labels, 1.0) == pytest.approx(4 / 5)
    # keeping half the signal (10 of 20): cut at >= 11, only 25.0 passes
    assert metrics.background_efficiency(scores, labels, 0.5) == pytest.approx(1 / 5)
    # perfect separation
    assert metrics.background_efficiency([0.9, 0.8, 0.1], [1, 1, 0]) == 0.0


def test_background_efficiency_weights_count_like_copies():
    scores = np.array([0.9, 0.7, 0.6, 0.4, 0.3])
    labels = np.array([1, 1, 0, 1, 0])
    weights = np.array([1.0, 2.0, 3.0, 1.0, 1.0])
    copies = np.repeat(np.arange(5), weights.astype(int))
    for eff in (0.5, 0.75, 0.95):
        assert metrics.background_efficiency(scores, labels, eff, weights) == pytest.approx(
            metrics.background_efficiency(scores[copies], labels[copies], eff))


def test_bootstrap_uncertainty():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    scores = rng.normal(size=400) + labels
    est = metrics.bootstrap(metrics.auc, scores, labels, n_resamples=100, seed=1)
    assert est.value == pytest.approx(metrics.auc(scores, labels))
    assert est.low < est.value < est.high
    # the binomial-ish spread of an AUC near 0.76 with 200 per class is about 0.02
    assert 0.01 < est.std < 0.05
    again = metrics.bootstrap(metrics.auc, scores, labels, n_resamples=100, seed=1)
    assert again == est
    bkg = metrics.bootstrap(metrics.background_efficiency, scores, labels, n_resamples=50,
                            signal_efficiency=0.9)
    assert 0 < bkg.value < 1 and bkg.std > 0


def test_metric_input_errors():
    with pytest.raises(nets.TrainError, match="labels"):
        metrics.auc([0.1, 0.2], [0, 2])
    with pytest.raises(nets.TrainError, match="signal_efficiency"):
        metrics.background_efficiency([0.1, 0.2], [0, 1], 1.5)
    with pytest.raises(nets.TrainError, match="scores"):
        metrics.auc([0.1, 0.2, 0.3], [0, 1])
