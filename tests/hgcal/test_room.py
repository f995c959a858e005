"""The hgcal room stands alone: it imports none of bo, nets, fpga or ntbo, and never pickles."""

from __future__ import annotations

import pathlib
import subprocess
import sys


def test_hgcal_imports_no_other_room():
    code = ("import sys, hgcal; bad = [m for m in ('bo', 'nets', 'fpga', 'ntbo') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_pickle_anywhere():
    root = pathlib.Path(__file__).resolve().parents[2] / "hgcal"
    for path in root.glob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
