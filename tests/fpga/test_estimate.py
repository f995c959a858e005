"""The analytic resource model: hand-computed counts, monotonic trends, hls4ml's own rules."""

import math

import pytest

import fpga
import nets
from fpga import estimate
from fpga.resources import (DSP_FRACTION, closest_reuse_factor, dsp_per_multiplier,
                           multiplier_limit, valid_reuse_factors)


def dense_rows(res):
    return [r for r in res.layers if r.kind == "dense"]


def test_multipliers_and_dsp_equal_hand_counts():
    # 16 -> 64 -> 32 -> 1 at fixed<16,6>, R = 1: 1024 + 2048 + 32 multipliers.
    res = estimate(nets.Topology((64, 32)), 16)
    assert [r.multipliers for r in dense_rows(res)] == [1024, 2048, 32]
    assert res.multipliers == 3104 == nets.Topology((64, 32)).macs(16)
    # constant weights: round(62/64 * m) on DSPs, one DSP each at 16 x 16 bits
    assert [r.dsp for r in dense_rows(res)] == [992, 1984, 31]
    assert res.dsp == 992 + 1984 + 31


def test_reuse_factor_divides_multipliers_exactly():
    # weights vary from cycle to cycle when R > 1, so every multiplier needs its DSP
    res = estimate(nets.Topology((64, 32)), 16, reuse_factor=4)
    assert [r.multipliers for r in dense_rows(res)] == [256, 512, 8]
    assert [r.dsp for r in dense_rows(res)] == [256, 512, 8]
    res = estimate(nets.Topology((10,)), 3, reuse_factor=[4, 3])
    assert [r.multipliers for r in dense_rows(res)] == [math.ceil(30 / 4), math.ceil(10 / 3)]
    assert res.interval == 4


def test_reuse_factor_beyond_layer_size_leaves_one_multiplier():
    res = estimate(nets.Topology((4,)), 2, reuse_factor=100)
    assert [r.multipliers for r in dense_rows(res)] == [1, 1]
    assert [r.reuse_factor for r in dense_rows(res)] == [8, 4]


def test_multiplier_limit_and_dsp_width_rules():
    assert multiplier_limit(16, 64, 1) == 1024
    assert multiplier_limit(16, 64, 3) == 342
    assert dsp_per_multiplier(16, 16) == 1
    assert dsp_per_multiplier(16, 8) == 0          # weight below 9 bits: LUTs
    assert dsp_per_multiplier(27, 18) == 1         # the DSP48E2 port widths
    assert dsp_per_multiplier(24, 24) == 2         # 24 > 18 on the narrow port
    assert dsp_per_multiplier(32, 32) == 4


def test_estimates_grow_with_width():
    small = estimate(nets.Topology((16, 16)), 16)
    big = estimate(nets.Topology((64, 16)), 16)
    for field in ("multipliers", "dsp", "lut", "ff"):
        assert getattr(big, field) > getattr(small, field), field
    assert big.latency_cycles >= small.latency_cycles


def test_reuse_factor_shrinks_dsp_and_grows_latency():
    topo = nets.Topology((64, 32))
    by_r = [estimate(topo, 16, reuse_factor=r) for r in (1, 2, 4, 8)]
    dsps = [r.dsp for r in by_r]
    assert dsps == sorted(dsps, reverse=True) and len(set(dsps)) == 4
    assert by_r[2].dsp == pytest.approx(by_r[0].dsp / 4, rel=0.1)  # the R = 4 rule of thumb
    cycles = [r.latency_cycles for r in by_r]
    assert cycles == sorted(cycles) and cycles[-1] > cycles[0] + 6


def test_narrow_precision_moves_multipliers_from_dsp_to_lut():
    topo = nets.Topology((32, 32))
    wide = estimate(topo, 16, precision="fixed<16,6>")
    narrow = estimate(topo, 16, precision="fixed<8,3>")
    assert narrow.multipliers == wide.multipliers
    assert wide.dsp > 0 and narrow.dsp == 0
    lut_mults = [r.lut for r in dense_rows(narrow)]
    assert all(n > w for n, w in zip(lut_mults, (r.lut for r in dense_rows(wide))))
    # the boundary is hls4ml's 9-bit weight rule
    assert estimate(topo, 16, precision="fixed<9,3>").dsp > 0
    assert estimate(topo, 16, precision="fixed<8,3>").dsp == 0


def test_per_layer_precision():
    res = estimate(nets.Topology((32,)), 16, precision=["fixed<16,6>", "fixed<6,2>"])
    assert [r.dsp for r in dense_rows(res)] == [round(DSP_FRACTION * 512), 0]


def test_resource_strategy_uses_hls4ml_valid_reuse_factor_and_bram():
    hls4ml = pytest.importorskip("hls4ml")
    backend = hls4ml.backends.get_backend("Vitis")
    for n_in, n_out in ((16, 64), (64, 32), (750, 1000), (7, 5)):
        reference = backend.get_valid_reuse_factors(n_in, n_out)
        assert list(valid_reuse_factors(n_in, n_out)) == reference
        for rf in (3, 5, 7, 9, 100):
            assert closest_reuse_factor(n_in, n_out, rf) == backend.get_closest_reuse_factor(
                backend.get_valid_reuse_factors(n_in, n_out), rf)
    res = estimate(nets.Topology((64,)), 16, reuse_factor=4, strategy="resource")
    d0 = dense_rows(res)[0]
    assert d0.reuse_factor == 4 and d0.multipliers == 256
    assert d0.bram18 == math.ceil(16 * 64 * 16 / (4 * 36))  # hls4ml's BRAM rule: 114
    assert estimate(nets.Topology((64,)), 16, reuse_factor=4).bram18 == 0  # Latency: registers


def test_activation_tables_use_bram_relu_does_not():
    assert estimate(nets.Topology((64, 10), "relu"), 8).bram18 == 0
    for act in ("sigmoid", "tanh", "elu"):
        res = estimate(nets.Topology((64, 10), act), 8)
        assert res.bram18 == 32 + 5, act            # one BRAM18 per two neurons
    lin = estimate(nets.Topology((64, 10), "linear"), 8)
    assert [r.kind for r in lin.layers] == ["dense"] * 3


def test_layer_rows_and_totals():
    res = estimate(nets.Topology((8, 0, 4), "tanh"), 5)
    assert [r.name for r in res.layers] == ["Dense_0", "Activation_0", "Dense_1",
                                            "Activation_1", "Dense_2"]
    assert [(r.n_in, r.n_out) for r in dense_rows(res)] == [(5, 8), (8, 4), (4, 1)]
    for field in ("dsp", "lut", "ff", "bram18", "latency_cycles", "multipliers"):
        assert getattr(res, field) == sum(getattr(r, field) for r in res.layers)
    assert res.latency_ns == res.latency_cycles * 5.0
    d = res.to_dict()
    assert d["device"] == "xcvu13p" and len(d["layers"]) == 5
    assert "total" in res.table()


def test_device_fractions_and_budget():
    topo = nets.Topology((64, 32))
    vu13p = estimate(topo, 16)
    vu9p = estimate(topo, 16, device="xcvu9p-flga2104-2L-e")
    assert vu13p.fractions["dsp"] == pytest.approx(vu13p.dsp / 12_288)
    assert vu9p.fractions["dsp"] == pytest.approx(vu9p.dsp / 6_840)
    assert vu9p.max_fraction > vu13p.max_fraction
    assert vu13p.fits(0.5) and not vu13p.fits(0.1)
    assert not vu13p.fits(1.0, latency_ns=vu13p.latency_ns - 1)
    tiny = fpga.Device("tiny", "xc-tiny", dsp=100, lut=10_000, ff=20_000, bram18=10)
    assert estimate(topo, 16, device=tiny).fractions["dsp"] > 1


def test_usable_as_search_constraint():
    budget = 0.1 * fpga.DEVICES["xcvu13p"].dsp

    def constraint(x):
        return estimate(nets.Topology((x["w0"], x["w1"])), 16).dsp - budget

    assert constraint({"w0": 16, "w1": 8}) < 0 < constraint({"w0": 256, "w1": 256})


def test_jet_tagging_scale():
    # Duarte et al. 2018: 16-64-32-32-5, 4,256 multiplications, at most ~4,256 DSPs at R = 1.
    res = estimate(nets.Topology((64, 32, 32)), 16)
    assert res.multipliers == 4256 - 32 * 5 + 32
    assert 0.9 * res.multipliers <= res.dsp <= res.multipliers
    assert res.latency_ns < 200


@pytest.mark.parametrize("kwargs, match", [
    ({"precision": "float32"}, "fixed-point"),
    ({"precision": "fixed<0,0>"}, "width"),
    ({"reuse_factor": 0}, "reuse_factor"),
    ({"reuse_factor": [1, 2, 3]}, "Dense layers"),
    ({"strategy": "fast"}, "strategy"),
    ({"device": "xc7a35t"}, "device"),
    ({"clock_period": 0}, "clock_period"),
    ({"n_inputs": 0}, "n_inputs"),
])
def test_bad_input_raises_export_error(kwargs, match):
    args = {"topology": nets.Topology((8,)), "n_inputs": 4, **kwargs}
    with pytest.raises(fpga.ExportError, match=match):
        estimate(**args)


def test_unknown_activation_raises():
    class Odd:
        layers, activation = (4,), "swish"

    with pytest.raises(fpga.ExportError, match="swish"):
        estimate(Odd(), 3)


def test_precision_parsing():
    assert fpga.parse_precision("ap_fixed<8,3,RND,SAT>") == fpga.Precision(8, 3)
    assert fpga.parse_precision("ufixed<10,2>") == fpga.Precision(10, 2, signed=False)
    assert str(fpga.parse_precision(" fixed< 16 , 6 > ")) == "fixed<16,6>"
    assert fpga.parse_precision("fixed<16,6>").fractional == 10


def test_device_lookup():
    assert fpga.get_device("VU9P").dsp == 6_840
    assert fpga.get_device("xcvu13p-flga2577-2-e").name == "xcvu13p"


def test_numpy_integers_from_a_search_are_accepted():
    np = pytest.importorskip("numpy")
    a = estimate(nets.Topology((16,)), np.int64(8), reuse_factor=np.int64(2))
    b = estimate(nets.Topology((16,)), 8, reuse_factor=2)
    assert a == b
