"""Classifier figures of merit, with bootstrap uncertainties.

``background_efficiency`` is the original HGCal study's figure: fix the cut that keeps a given
fraction of the signal (electrons), report the fraction of background (pions) that also passes.
The study's "precision" is one minus it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from nets.errors import TrainError


class Uncertain(NamedTuple):
    """A metric with its bootstrap spread.

    Attributes:
        value: the metric on the full sample.
        std: standard deviation over bootstrap resamples.
        low: lower end of the central confidence interval.
        high: upper end of the central confidence interval.
    """

    value: float
    std: float
    low: float
    high: float


def _prepare(scores, labels, weights):
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, np.float64).ravel()
    if not (scores.shape == labels.shape == weights.shape):
        raise TrainError(f"scores {scores.shape}, labels {labels.shape} and weights "
                         f"{weights.shape} must have one entry per event")
    if not np.all((labels == 0) | (labels == 1)):
        raise TrainError("labels must be 0 (background) or 1 (signal)")
    if not np.all(np.isfinite(scores)):
        raise TrainError("scores hold NaN or inf; metrics need finite scores")
    return scores, labels.astype(bool), weights


def auc(scores, labels, weights=None) -> float:
    """Area under the ROC curve; ties are counted half, as the trapezoid rule does.

    Args:
        scores: higher means more signal-like, shape (n,).
        labels: 1 for signal, 0 for background, shape (n,).
        weights: optional event weights, shape (n,).

    Returns:
        AUC in [0, 1]; NaN if either class is absent.
    """
    scores, labels, weights = _prepare(scores, labels, weights)
    order = np.argsort(-scores, kind="stable")
    s, y, w = scores[order], labels[order], weights[order]
    last_of_group = np.r_[s[1:] != s[:-1], True]  # one ROC point per distinct threshold
    tp = np.cumsum(w * y)[last_of_group]
    fp = np.cumsum(w * ~y)[last_of_group]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def background_efficiency(scores, labels, signal_efficiency: float = 0.95,
                          weights=None) -> float:
    """Fraction of background passing the cut that keeps ``signal_efficiency`` of the signal.

    The cut is the highest threshold ``c`` (selection: ``score >= c``) whose weighted signal
    efficiency reaches ``signal_efficiency``.

    Args:
        scores: higher means more signal-like, shape (n,).
        labels: 1 for signal, 0 for background, shape (n,).
        signal_efficiency: target signal efficiency, in (0, 1].
        weights: optional event weights, shape (n,).

    Returns:
        Weighted background efficiency in [0, 1]; NaN if either class is absent.
    """
    if not 0.0 < signal_efficiency <= 1.0:
        raise TrainError(f"signal_efficiency={signal_efficiency} must lie in (0, 1], e.g. 0.95")
    scores, labels, weights = _prepare(scores, labels, weights)
    sig_s, sig_w = scores[labels], weights[labels]
    bkg_s, bkg_w = scores[~labels], weights[~labels]
    if sig_w.sum() <= 0 or bkg_w.sum() <= 0:
        return float("nan")
    order = np.argsort(-sig_s, kind="stable")
    kept = np.cumsum(sig_w[order]) / sig_w.sum()
    # tolerance so that e.g. 19/20 counts as reaching 0.95 despite rounding
    index = int(np.searchsorted(kept, signal_efficiency - 1e-12))
    cut = sig_s[order][min(index, len(kept) - 1)]
    return float(bkg_w[bkg_s >= cut].sum() / bkg_w.sum())


def bootstrap(metric: Callable[..., float], scores, labels, weights=None, *,
              n_resamples: int = 200, confidence: float = 0.68, seed: int = 0,
              **kwargs) -> Uncertain:
    """Bootstrap uncertainty of a metric: resample events with replacement and recompute.

    Args:
        metric: e.g. `auc` or `background_efficiency`, called as
            ``metric(scores, labels, weights=..., **kwargs)``.
        scores: shape (n,).
        labels: shape (n,).
        weights: optional, shape (n,).
        n_resamples: number of bootstrap resamples (>= 2).
        confidence: probability content of the central interval ``(low, high)``.
        seed: seed of the resampling.

    Returns:
        `Uncertain` with the full-sample value, the resamples' standard deviation and the
        percentile interval.
    """
    if n_resamples < 2:
        raise TrainError(f"n_resamples={n_resamples} must be >= 2, e.g. 200")
    if not 0.0 < confidence < 1.0:
        raise TrainError(f"confidence={confidence} must lie in (0, 1), e.g. 0.68")
    scores, labels, w = _prepare(scores, labels, weights)
    labels = labels.astype(int)
    rng = np.random.default_rng(seed)
    n = len(scores)
    values = []
    for _ in range(n_resamples):
        pick = rng.integers(0, n, n)
        values.append(metric(scores[pick], labels[pick], weights=w[pick], **kwargs))
    values = np.asarray(values)
    values = values[np.isfinite(values)]
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail]) if len(values) else (np.nan, np.nan)
    return Uncertain(metric(scores, labels, weights=w, **kwargs),
                     float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                     float(low), float(high))
