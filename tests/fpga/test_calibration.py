"""The model against hls4ml's CI synthesis points, and the estimate-versus-report tools."""

import json

import pytest

import fpga
import nets
from fpga import calibration


def point(name):
    return next(p for p in calibration.SYNTHESIS_POINTS if p.name == name)


def rows(resource=None, used_for=None):
    return [r for r in calibration.calibration_table()
            if (resource is None or r["resource"] == resource)
            and (used_for is None or r["used_for"] == used_for)]


def test_dense64_relu_within_required_tolerances():
    est = calibration.estimate_point(point("dense64_relu"))
    assert abs(est["dsp"] - 61) / 61 <= 0.10
    assert abs(est["lut"] - 2840) / 2840 <= 0.25
    assert est["bram18"] == 0 and est["latency_cycles"] == 0


def test_every_point_dsp_bram_latency():
    for r in rows():
        if r["resource"] == "dsp":
            assert abs(r["relative_error"]) <= 0.05, r
        if r["resource"] in ("bram18", "latency_cycles"):
            assert r["estimate"] == r["synthesis"], r


def test_lut_and_ff_errors_are_as_documented():
    for r in rows("lut", "calibration"):
        assert abs(r["relative_error"]) <= 0.01, r
    (held_out,) = rows("lut", "validation")
    assert abs(held_out["relative_error"]) <= 0.30
    for r in rows("ff"):
        if r["synthesis"] > 100:
            assert abs(r["relative_error"]) <= 0.40, r


def test_compare_and_read_report(tmp_path):
    report = dict(point("dense64_sigmoid").report)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"CSynthesisReport": report}))
    assert calibration.read_report(path) == report
    res = fpga.estimate(nets.Topology((64,), "sigmoid"), 1)
    text = calibration.compare(res, report)
    assert text.splitlines()[0].split() == ["resource", "estimate", "synthesis", "error"]
    assert len(text.splitlines()) == 6
    dsp_line = next(l for l in text.splitlines() if l.startswith("dsp"))
    assert dsp_line.split()[1:3] == [str(res.dsp), "62"]


def test_read_report_errors(tmp_path):
    with pytest.raises(fpga.ExportError, match="cannot read"):
        calibration.read_report(tmp_path / "missing.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(fpga.ExportError, match="no C-synthesis report"):
        calibration.read_report(tmp_path / "empty.json")
