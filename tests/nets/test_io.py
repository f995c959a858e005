import json
import zipfile

import numpy as np
import pytest

import nets


@pytest.fixture(scope="module")
def trained(data):
    return nets.train_many([nets.Topology((5, 0, 3))], data, epochs=4, batch_size=32, lr=3e-2,
                           restarts=1, data_seed=3)[0]


def test_train_result_round_trip(tmp_path, trained, data):
    npz, js = trained.save(tmp_path / "best")
    assert npz.endswith("best.npz") and js.endswith("best.json")
    saved = nets.load(tmp_path / "best.json")
    assert saved.topology == trained.topology and saved.n_inputs == 6
    for name, layer in trained.params.items():
        for field in ("kernel", "bias"):
            np.testing.assert_array_equal(saved.params[name][field], layer[field])
    assert saved.info["config"]["epochs"] == 4
    assert saved.info["history"]["loss"] == pytest.approx(trained.history["loss"].tolist())
    np.testing.assert_array_equal(nets.apply(saved.topology, saved.params, data.x_val),
                                  nets.apply(trained.topology, trained.params, data.x_val))


def test_files_are_plain_npz_and_json(tmp_path, trained):
    trained.save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert sorted(z.namelist()) == sorted(
            f"Dense_{i}.{f}.npy" for i in range(3) for f in ("kernel", "bias"))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert all(z[k].dtype == np.float32 for k in z.files)
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["topology"] == {"hidden": [5, 0, 3], "activation": "relu"}


def test_non_finite_numbers_are_written_as_strict_json(tmp_path):
    t = nets.Topology((2,))
    nets.save(tmp_path / "x", t, nets.init_params(t, 3, 0), 3, info={"val_auc": float("nan")})
    json.loads((tmp_path / "x.json").read_text(), parse_constant=lambda c: pytest.fail(c))


def test_load_errors_name_the_file(tmp_path, trained):
    with pytest.raises(nets.TrainError, match="nope.json not found"):
        nets.load(tmp_path / "nope")
    trained.save(tmp_path / "m")
    (tmp_path / "m.npz").write_bytes(b"garbage")
    with pytest.raises(nets.TrainError, match="m.npz is corrupt"):
        nets.load(tmp_path / "m")
    trained.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["topology"]["hidden"] = [5, 4]
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(nets.TrainError, match="Dense_1.kernel has shape"):
        nets.load(tmp_path / "m")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(nets.TrainError, match="m.json is not valid JSON"):
        nets.load(tmp_path / "m")
