"""Shared tiny data set for the nets tests: small enough that compilation dominates."""

import numpy as np
import pytest

import nets


def make_data(n=600, n_features=6, seed=0):
    """A separable-but-noisy binary problem as a `nets.Data`."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    logit = 3.0 * x[:, 0] - 2.0 * x[:, 1] + x[:, 2] * x[:, 3]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return nets.Data.split(x, y, val_fraction=0.25, seed=seed)


@pytest.fixture(scope="session")
def data():
    return make_data()
