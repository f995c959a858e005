"""Captions and markdown tables beside every figure, and a reader for those tables."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Sequence


def machine() -> str:
    """One line naming the machine: OS, architecture, CPU cores, JAX backend, load average."""
    import jax
    try:
        load = "load average {:.1f}".format(os.getloadavg()[0])
    except OSError:
        load = "load average unknown"
    devices = jax.devices()
    kind = devices[0].device_kind if devices else "none"
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"JAX {jax.default_backend()} ({kind}), Python {platform.python_version()}, {load} at the start")


def fmt(value, digits: int = 4) -> str:
    """A table cell: floats to `digits` significant figures, NaN/None as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A GitHub markdown table; cells are formatted with `fmt`."""
    def line(cells):
        return "| " + " | ".join(fmt(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), "| " + " | ".join("---" for _ in header) + " |"]
                     + [line(r) for r in rows])


def write_figure_text(folder: Path, stem: str, title: str, caption: str,
                      tables: Sequence[tuple[str, str]]) -> Path:
    """Writes ``folder/stem.md``: the figure, its caption and its tables (heading, markdown)."""
    parts = [f"# {title}", "", f"![{title}]({stem}.png)", "", caption.strip(), ""]
    for heading, table in tables:
        parts += [f"## {heading}", "", table, ""]
    path = Path(folder) / f"{stem}.md"
    path.write_text("\n".join(parts))
    return path


def read_tables(path: str | Path) -> list[list[dict]]:
    """Parses every markdown table of a file into lists of row dicts (header -> cell text).

    Raises:
        ValueError: a table whose rows do not have as many cells as its header, naming the
            file and line.
    """
    lines = Path(path).read_text().splitlines()
    tables, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            header = _cells(lines[i])
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                cells = _cells(lines[j])
                if len(cells) != len(header):
                    raise ValueError(f"{path}:{j + 1}: {len(cells)} cells under a header of {len(header)}")
                rows.append(dict(zip(header, cells)))
                j += 1
            tables.append(rows)
            i = j
        else:
            i += 1
    return tables


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    cells, current, escaped = [], "", False
    for ch in inner:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += ch
    cells.append(current.strip())
    return cells
