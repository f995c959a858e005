"""Command line of the hgcal room: simulate electrons and pions into a trigger ntuple.

``python -m hgcal.simulate --electrons N --pions N --out FILE.root`` (the future
``ntbo simulate`` takes the same options). User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Iterator, Sequence

from hgcal.errors import NtupleError
from hgcal.geometry import PRESETS
from hgcal.ntuple import write_ntuple
from hgcal.simulation import Showers, simulate

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "python -m hgcal.simulate") -> argparse.ArgumentParser:
    """The argument parser of ``python -m hgcal.simulate`` (or of ``ntbo simulate``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fast-simulate HGCal trigger showers (electrons and charged pions) into a ROOT "
                    "ntuple with the CMSSW trigger-ntuple schema.")
    parser.add_argument("--electrons", type=int, default=0, help="number of electrons (e-)")
    parser.add_argument("--pions", type=int, default=0, help="number of charged pions (pi-)")
    parser.add_argument("--out", required=True, help="output .root file")
    parser.add_argument("--geometry", default="v9-trigger",
                        help=f"preset ({', '.join(PRESETS)}) or a .json/.toml geometry file")
    parser.add_argument("--pt-min", type=float, default=20.0, help="lowest pT in GeV (flat in pT)")
    parser.add_argument("--pt-max", type=float, default=100.0, help="highest pT in GeV")
    parser.add_argument("--eta-min", type=float, default=1.7, help="lowest |eta|")
    parser.add_argument("--eta-max", type=float, default=2.8, help="highest |eta|")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--batch", type=int, default=50_000, help="showers simulated and written at a time")
    parser.add_argument("--workers", type=int, default=1, help="threads for the simulation")
    return parser


def _batches(electrons: int, pions: int, seed: int, batch: int, options: dict) -> Iterator[Showers]:
    """Simulates in batches so that memory stays bounded; batch k of particle p uses seed (seed, p, k)."""
    for index, (particle, count) in enumerate((("e-", electrons), ("pi-", pions))):
        for k, begin in enumerate(range(0, count, batch)):
            yield simulate(min(batch, count - begin), particle, seed=(seed, index, k), **options)


def main(argv: Sequence[str] | None = None, prog: str = "python -m hgcal.simulate") -> int:
    """Runs the command line; returns the exit status (0 ok, 2 user error)."""
    args = build_parser(prog).parse_args(argv)
    try:
        if args.electrons < 0 or args.pions < 0 or args.electrons + args.pions == 0:
            raise NtupleError("--electrons/--pions: give a positive number of showers to simulate")
        if args.batch < 1:
            raise NtupleError("--batch: give a positive number of showers per batch")
        start = time.perf_counter()
        options = dict(pt=(args.pt_min, args.pt_max), eta=(args.eta_min, args.eta_max),
                       geometry=args.geometry, workers=args.workers)
        path = write_ntuple(args.out, _batches(args.electrons, args.pions, args.seed, args.batch, options))
    except NtupleError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"wrote {args.electrons} electrons and {args.pions} pions to {path} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0
