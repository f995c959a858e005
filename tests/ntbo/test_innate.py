"""The original Innate API on a tiny problem."""

import json

import jax
import numpy as np
import pytest

import nets
import ntbo
from ntbo.errors import ConfigError


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(loc=5.0, scale=3.0, size=(300, 4)).astype(np.float32)  # not standardised
    y = (x[:, 0] - 5.0 + rng.normal(size=300) > 0).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    (tmp_path / "net.json").write_text(json.dumps({"hidden": [8, 4], "activation": "relu"}))
    return tmp_path / "net.json", tmp_path / "data.npz", x, y


def test_train_net_and_plot_loss(files, tmp_path):
    nn_file, data_file, x, y = files
    ie = ntbo.init()
    res = ntbo.train_net(ie, "tiny", nn_file, data_file, tmp_path / "results", nb_epochs=10, lr=0.02)
    assert not res["failed"] and res["etime"] > 0 and len(res["history"]["loss"]) == 10
    assert 0.7 < res["val_auc"] <= 1.0
    saved = nets.load(res["model"])
    assert saved.topology == nets.Topology((8, 4))
    # the saved network takes the raw (unscaled) features and reproduces the validation AUC
    val = nets.Data.split(x, y, val_fraction=0.2)
    scores = np.asarray(jax.nn.sigmoid(nets.apply(saved.topology, saved.params, val.x_val)))
    assert nets.metrics.auc(scores, val.y_val) == pytest.approx(res["val_auc"], abs=1e-3)
    png = ntbo.plot_loss(res)
    assert png.name == "loss.png" and png.stat().st_size > 0


def test_innate_user_errors(files, tmp_path):
    nn_file, data_file, _, _ = files
    ie = ntbo.init()
    with pytest.raises(ConfigError, match="nn_file .*missing.json: not found"):
        ntbo.train_net(ie, "t", tmp_path / "missing.json", data_file, tmp_path, nb_epochs=1)
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(ConfigError, match="needs arrays x_train"):
        ntbo.train_net(ie, "t", nn_file, bad, tmp_path, nb_epochs=1)
    with pytest.raises(ConfigError, match="scheduler"):
        ntbo.init("localhost")


def test_async_train_returns_a_future(files, tmp_path):
    nn_file, data_file, _, _ = files
    ie = ntbo.init()
    try:
        future = ntbo.async_train(ie, "later", nn_file, data_file, tmp_path / "r", nb_epochs=2)
        res = future.result(timeout=300)
    finally:
        ie.close()
    assert res["task_name"] == "later" and (tmp_path / "r" / "later" / "model.npz").is_file()
