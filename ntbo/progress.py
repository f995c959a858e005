"""The progress bar of ``ntbo search``: trials done of the budget, running, best so far, ETA.

A `tqdm` bar on stderr, updated after every state change of the study (a batch launched, a
batch told). It is silent when stderr is not a terminal or when asked to be quiet, so logs and
pipes get only the final report.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from ntbo.results import best_trial
from ntbo.storage import Study


class Progress:
    """A search callback drawing the bar; ``close()`` it before printing anything else.

    Args:
        budget: trials in all.
        metric: the objective's name, shown beside the best value.
        enabled: draw the bar; None: only when stderr is a terminal.
    """

    def __init__(self, budget: int, metric: str, enabled: bool | None = None):
        self.budget, self.metric = int(budget), metric
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.bar: tqdm | None = None

    def __call__(self, study: Study) -> None:
        if not self.enabled:
            return
        counts = study.counts()
        done = counts["complete"] + counts["failed"]
        if self.bar is None:  # trials of an earlier run (resumed) do not count in the rate
            self.bar = tqdm(total=self.budget, initial=done, unit="trial", file=sys.stderr,
                            dynamic_ncols=True, desc="search")
        self.bar.set_postfix_str(describe(study, counts), refresh=False)
        self.bar.update(done - self.bar.n)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def describe(study: Study, counts: dict | None = None) -> str:
    """``running 2, failed 1, best 0.0123 ± 0.002 [32, 16]``: the bar's postfix."""
    counts = study.counts() if counts is None else counts
    b = best_trial(study.trials(["complete"]))
    best = "none yet" if b is None else (
        f"{b.value:.4g} ± {b.value_std or 0.0:.2g} {list(b.topology.layers)}")
    failed = f", failed {counts['failed']}" if counts["failed"] else ""
    return f"running {counts['running']}{failed}, best {best}"
