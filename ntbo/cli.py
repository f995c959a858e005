"""The ``ntbo`` command line: ``simulate``, ``train``, ``search``, ``report``, ``export``.

``python -m ntbo.cli <command> --help`` works until the ``ntbo`` console script is installed.
User errors (bad config, missing data, unwritable folder) print one line and exit with status 2;
internal errors keep their traceback. ``ntbo search`` draws a progress bar on a terminal
(``--quiet`` turns it off); Ctrl-C puts the running trials back to pending, prints one line with
the command that resumes the search, and exits with status 130.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Sequence

#: The search that ``ntbo search`` runs with no config: simulated showers read out at the eight
#: depths of the original study (``seed8``), up to three hidden layers under a neuron budget,
#: Bayesian optimisation with a GP; 1000 epochs per training, as in the original study (10
#: underfit: background efficiency 1.38 % against 0.52 %, README).
DEFAULT_CONFIG = {
    "data": {"simulate": 10000, "seed": 0, "geometry": "seed8"},
    "space": {"depth": [1, 3], "width": [4, 64], "log": True},
    "objective": {"metric": "background_efficiency", "seeds": 2, "epochs": 1000, "batch_size": 256},
    "search": {"method": "gp", "budget": 20, "q": 1},
    "constraint": {"max_neurons": 96},
    "results": "ntbo-results",
}


def enable_compilation_cache(path: str | None = None) -> str | None:
    """Turns on JAX's persistent compilation cache (unless the user configured one), so a
    search reuses the GP's and the trainer's compiled programs of earlier searches.

    Args:
        path: the cache folder; default ``$NTBO_JAX_CACHE``, else
            ``$XDG_CACHE_HOME/ntbo/jax`` (``~/.cache/ntbo/jax``). An empty ``NTBO_JAX_CACHE``
            turns the cache off.

    Returns:
        The folder in use, or None when off or configured elsewhere.
    """
    import os
    import jax
    if jax.config.jax_compilation_cache_dir:
        return None
    if path is None:
        path = os.environ.get("NTBO_JAX_CACHE")
        if path is None:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            path = os.path.join(base, "ntbo", "jax")
    if not path:
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return path


def _user_errors() -> tuple[type[BaseException], ...]:
    import bo
    import hgcal
    import nets
    from ntbo.errors import ConfigError
    return ConfigError, hgcal.NtupleError, hgcal.GeometryError, nets.TrainError, bo.SpaceError


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand (``simulate`` and ``export`` hand their arguments on)."""
    parser = argparse.ArgumentParser(
        prog="ntbo", description="Neural-network topology search for FPGA triggers (CMS HGCal L1).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("simulate", add_help=False,
                   help="simulate electron and pion showers into a ROOT ntuple (ntbo simulate --help)")
    sub.add_parser("export", add_help=False,
                   help="convert a saved model to an hls4ml project (ntbo export --help)")

    train = sub.add_parser("train", help="train one topology and save it",
                           description="Train one topology (with each objective seed) on the data of "
                                       "a config file or of --data/--simulate, and save the best seed.")
    train.add_argument("--hidden", required=True, help="hidden widths, e.g. 32,16")
    train.add_argument("--activation", default="relu", help="activation (default relu)")
    train.add_argument("--config", help="TOML search config whose [data] and [objective] to use")
    train.add_argument("--data", nargs="+", help="ROOT ntuple files")
    train.add_argument("--simulate", type=int, help="simulate this many events per class instead")
    train.add_argument("--epochs", type=int, help="training epochs")
    train.add_argument("--seeds", type=int, help="number of initialisation seeds")
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--out", default="ntbo-train", help="output folder (default ntbo-train)")

    search = sub.add_parser("search", help="run or resume a topology search",
                            description="Run a topology search from a TOML config (with no config: "
                                        "a default search on simulated showers), or resume one.")
    search.add_argument("--config", help="TOML config file")
    search.add_argument("--resume", metavar="DIR", help="resume the search of this results folder")
    search.add_argument("--budget", type=int, help="trials in all (raise it to search further)")
    search.add_argument("--results", metavar="DIR", help="results folder (overrides the config)")
    search.add_argument("--quiet", action="store_true",
                        help="no progress bar (it is off anyway when stderr is not a terminal)")

    report = sub.add_parser("report", help="rewrite and print the report of a results folder",
                            description="Rebuild trials.csv, summary.json and the plot of a "
                                        "results folder from its study.db, and print the best trial.")
    report.add_argument("folder", help="results folder")
    return parser


def _search(args) -> int:
    from ntbo.config import SearchConfig
    from ntbo.errors import ConfigError
    from ntbo.progress import Progress
    from ntbo.runner import search, stored_config
    if args.resume and (args.config or args.results):
        raise ConfigError("--resume with --config or --results: a resumed search uses its stored "
                          "config and folder; give --resume DIR (and --budget N) alone")
    if args.budget is not None and args.budget < 1:
        raise ConfigError(f"--budget {args.budget}: give a positive number of trials")
    if args.resume:
        config = stored_config(args.resume, args.budget)
    else:
        config = (SearchConfig.from_toml(args.config) if args.config
                  else SearchConfig.from_dict(DEFAULT_CONFIG))
        if args.budget is not None:
            config = config.replace(search={"budget": args.budget})
    if args.results:
        config = config.replace(results=args.results)
    if not args.quiet:
        print(f"searching {config.search.budget} topologies with {config.search.method}; "
              f"results in {config.results}", flush=True)
    progress = Progress(config.search.budget, config.objective.metric,
                        enabled=False if args.quiet else None)
    interrupted = []

    def on_sigint(signum, frame):
        interrupted.append(signum)
        # Python prints and drops an exception raised inside a finaliser (uproot closes its
        # files in __del__); there the flag alone stops the search at its next step.
        while frame is not None:
            if frame.f_code.co_name == "__del__":
                return
            frame = frame.f_back
        raise KeyboardInterrupt

    def callback(study):
        if interrupted:
            raise KeyboardInterrupt
        progress(study)

    enable_compilation_cache()
    previous = signal.getsignal(signal.SIGINT)
    own = threading.current_thread() is threading.main_thread() and previous is not signal.SIG_IGN
    if own:
        signal.signal(signal.SIGINT, on_sigint)
    try:
        result = search(config, callback=callback)
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted; finished trials are saved in {config.results}/study.db; resume with: "
              f"ntbo search --resume {shlex.quote(config.results)}", file=sys.stderr, flush=True)
        return 130
    finally:
        if own:
            signal.signal(signal.SIGINT, previous)
        progress.close()
    if interrupted:  # the interrupt came too late to stop anything: the search is complete
        print("interrupted after the last trial; the search is complete", file=sys.stderr)
    print(result)
    return 0


def _train(args) -> int:
    import nets
    from ntbo.config import SearchConfig
    from ntbo.errors import ConfigError
    from ntbo.runner import train_topology
    try:
        hidden = tuple(int(w) for w in args.hidden.split(","))
    except ValueError:
        raise ConfigError(f"--hidden {args.hidden}: give comma-separated widths, e.g. 32,16") from None
    values = SearchConfig.from_toml(args.config).to_dict() if args.config else {}
    if args.data or args.simulate:
        values["data"] = ({"paths": args.data} if args.data else {"simulate": args.simulate})
    elif not args.config:
        raise ConfigError("give the data: --data FILE.root, --simulate N or --config FILE")
    objective = values.setdefault("objective", {})
    for name in ("epochs", "seeds", "lr"):
        if getattr(args, name) is not None:
            objective[name] = getattr(args, name)
    values["results"] = args.out
    config = SearchConfig.from_dict(values)
    topology = nets.Topology(hidden, args.activation)
    record, path = train_topology(config, topology, Path(args.out) / "model")
    if record["failed"]:
        print(f"training failed: {record['error']}")
        return 1
    print(f"hidden {list(topology.layers)}: {config.objective.metric} {record['value']:.4g} ± "
          f"{record['value_std']:.2g} over {len(record['seeds'])} seed(s); model {path}")
    return 0


def _report(args) -> int:
    from ntbo.results import report
    print(report(args.folder))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        from hgcal.cli import main as simulate
        return simulate(argv[1:], prog="ntbo simulate")
    if argv and argv[0] == "export":
        try:
            from fpga.export import main as export
        except ImportError:
            print("ntbo export needs the fpga room, which is not importable here", file=sys.stderr)
            return 2
        return export(argv[1:], prog="ntbo export")
    args = build_parser().parse_args(argv)
    errors = _user_errors()
    try:
        return {"search": _search, "train": _train, "report": _report}[args.command](args)
    except errors as err:
        print(str(err).splitlines()[0] if str(err) else type(err).__name__, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
