"""fpga may read nets' parameter format but imports nothing from bo/, hgcal/ or ntbo/."""

import ast
import pathlib
import subprocess
import sys

import fpga

ROOM = pathlib.Path(fpga.__file__).parent


def imported_roots(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_no_forbidden_imports():
    for path in ROOM.glob("*.py"):
        assert not {"bo", "hgcal", "ntbo"} & set(imported_roots(path)), path.name


def test_import_leaves_keras_and_hls4ml_unloaded():
    code = ("import sys, fpga, nets; fpga.estimate(nets.Topology((8,)), 4); "
            "print(sorted(m for m in ('keras', 'hls4ml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
