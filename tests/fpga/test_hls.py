"""hls4ml export: one small trained network compiled once; input checks without compiling."""

import json
import shutil

import numpy as np
import pytest

import fpga
import nets
from fpga import export as export_cli

hls4ml = pytest.importorskip("hls4ml")
keras = pytest.importorskip("keras")


def make_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    logit = 2.0 * x[:, 0] - 1.5 * x[:, 1] + x[:, 2] * x[:, 3]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def trained():
    x, y = make_data()
    topo = nets.Topology((8,), "relu")
    (result,) = nets.train_many([topo], nets.Data.split(x, y, val_fraction=0.25, seed=0),
                                epochs=30, batch_size=256)
    return topo, result.params, x, y


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ is needed for the hls4ml C simulation")
    topo, params, x, y = trained
    out = tmp_path_factory.mktemp("export")
    return fpga.export_model(topo, params, out, x=x, y=y, precision="fixed<16,6>"), out


def test_c_simulation_agrees_with_flax(exported, trained):
    result, _ = exported
    topo, params, x, y = trained
    a = result.agreement
    assert a.n_events == len(x)
    assert a.max_abs_diff <= 0.05          # the stated tolerance at fixed<16,6>
    assert abs(a.auc_diff) <= 0.002
    assert a.auc_reference > 0.7           # the network did learn something
    assert abs(a.background_efficiency_diff) <= 0.02
    # recompute independently from the emulation's raw output
    emulated = np.asarray(result.hls_model.predict(np.ascontiguousarray(x, np.float64)))
    reference = np.asarray(nets.apply(topo, params, x))
    assert np.max(np.abs(emulated.reshape(-1) - reference)) == pytest.approx(a.max_abs_diff)
    assert a.max_abs_diff > 0              # it really is fixed-point arithmetic


def test_report_written_with_estimate(exported):
    result, out = exported
    report = json.loads((out / "agreement.json").read_text())
    assert report["max_abs_diff"] == pytest.approx(result.agreement.max_abs_diff)
    assert report["settings"]["precision"] == "fixed<16,6>"
    assert report["estimate"]["multipliers"] == 4 * 8 + 8
    assert (out / "hls4ml_prj").is_dir()


def test_check_fails_loudly_beyond_tolerance(exported):
    a = exported[0].agreement
    with pytest.raises(fpga.ExportError, match="disagrees"):
        a.check(max_abs_diff=a.max_abs_diff / 2)
    assert a.check(max_abs_diff=1.0) is a


def test_calibrated_precision_config(trained, tmp_path):
    topo, params, x, _ = trained
    model = fpga.to_keras(topo, params)
    big = x * 100  # inputs beyond fixed<16,6>'s +-32 need more integer bits
    hm = fpga.to_hls(model, precision="fixed<18,6>", output_dir=str(tmp_path / "prj"),
                     calibration_data=big, compile=False)
    types = {l.name: l.get_output_variable().type.precision for l in hm.get_layers()}
    max_in = np.abs(big).max()
    assert types["features"].width == 18
    assert 2 ** (types["features"].integer - 1) >= max_in > 2 ** (types["features"].integer - 2)
    relu = max(float(np.abs(np.asarray(model.layers[1](model.layers[0](big)))).max()), 1e-9)
    assert 2 ** (types["Activation_0"].integer - 1) >= relu


@pytest.mark.parametrize("layers, match", [
    (lambda: [keras.layers.Dense(4, name="d"), keras.layers.BatchNormalization(name="bn")],
     "'bn' is a BatchNormalization"),
    (lambda: [keras.layers.Dense(4, name="d"), keras.layers.Activation("softmax", name="sm")],
     "'sm' uses activation 'softmax'"),
    (lambda: [keras.layers.Dense(4, activation="gelu", name="dg")], "'dg' uses activation"),
])
def test_unsupported_layers_raise(layers, match):
    model = keras.Sequential([keras.Input((3,)), *layers()])
    with pytest.raises(fpga.ExportError, match=match):
        fpga.to_hls(model, compile=False)


def test_bad_options_raise(trained, tmp_path):
    topo, params, _, _ = trained
    model = fpga.to_keras(topo, params)
    with pytest.raises(fpga.ExportError, match="strategy"):
        fpga.to_hls(model, strategy="fastest", compile=False)
    with pytest.raises(fpga.ExportError, match="reuse_factor"):
        fpga.to_hls(model, reuse_factor=0, compile=False)
    with pytest.raises(fpga.ExportError, match="fixed-point"):
        fpga.to_hls(model, precision="float", compile=False)
    with pytest.raises(fpga.ExportError, match="Sequential"):
        fpga.to_hls(object(), compile=False)


def test_cli_wiring_and_errors(trained, tmp_path, monkeypatch, capsys):
    topo, params, x, y = trained
    nets.save(tmp_path / "best", topo, params, 4)
    np.savez(tmp_path / "test.npz", x=x[:10], y=y[:10])
    seen = {}

    def fake_export(topology, params_, out, **kwargs):
        seen.update(topology=topology, out=out, **kwargs)
        raise fpga.ExportError("stop here")

    monkeypatch.setattr(export_cli, "export_model", fake_export)
    status = export_cli.main(["--model", str(tmp_path / "best.npz"), "--out", str(tmp_path / "o"),
                              "--precision", "fixed<12,4>", "--reuse", "2", "--data",
                              str(tmp_path / "test.npz"), "--calibrate"])
    assert status == 2 and "stop here" in capsys.readouterr().err
    assert seen["topology"] == topo and seen["precision"] == "fixed<12,4>"
    assert seen["reuse_factor"] == 2 and seen["calibrate"] is True
    np.testing.assert_array_equal(seen["x"], x[:10])
    monkeypatch.undo()
    assert export_cli.main(["--model", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "missing.json not found" in capsys.readouterr().err
    np.savez(tmp_path / "nox.npz", z=x[:3])
    assert export_cli.main(["--model", str(tmp_path / "best"), "--out", str(tmp_path),
                            "--data", str(tmp_path / "nox.npz")]) == 2
    assert "no array 'x'" in capsys.readouterr().err


def test_read_report_of_unbuilt_project_explains(exported):
    _, out = exported
    with pytest.raises(fpga.ExportError, match="no C-synthesis report"):
        fpga.calibration.read_report(out / "hls4ml_prj")


def test_benchmark_helpers_run():
    from fpga import benchmark

    assert benchmark.time_estimate(number=3) > 0
