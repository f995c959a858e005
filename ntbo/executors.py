"""Where training batches run: in this process, in a spawn-started process pool, or on Dask.

All three give the `concurrent.futures` shape the runner needs: ``submit(fn, arg) -> future``
with ``future.result()``. The function submitted is a module-level function taking plain data,
so it pickles for the pool and for Dask (pickle is used only for that inter-process traffic,
never for files).

* ``local``: runs the call at once in the driver process (no start-up cost; q = 1 default).
* ``process``: `concurrent.futures.ProcessPoolExecutor` with the *spawn* start method (JAX's
  threads do not survive fork). A worker that dies fails its batch; the pool is restarted.
* ``dask``: `dask.distributed.Client` on a running scheduler (``executor.scheduler``), or on a
  `LocalCluster` bound to 127.0.0.1. Tasks are submitted with ``pure=False`` and retried twice on
  lost workers. SLURM or HTCondor sites start a ``dask_jobqueue`` cluster and pass its
  scheduler address.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from typing import Any, Callable

from ntbo.config import ExecutorConfig
from ntbo.errors import ConfigError


def resolve_kind(executor: ExecutorConfig, q: int) -> str:
    """The executor kind that ``"auto"`` stands for: local for q = 1, else a process pool."""
    if executor.kind != "auto":
        return executor.kind
    return "local" if q == 1 and executor.workers == 1 else "process"


class Executor:
    """A started executor of one kind; close it (or use ``with``) to stop its workers.

    Args:
        kind: ``"local"``, ``"process"`` or ``"dask"`` (see `resolve_kind`).
        workers: worker processes.
        scheduler: Dask scheduler address, or None for a local cluster.

    Raises:
        ConfigError: Dask asked for but not installed, or its scheduler unreachable.
    """

    def __init__(self, kind: str, workers: int = 1, scheduler: str | None = None):
        self.kind, self.workers, self.scheduler = kind, int(workers), scheduler
        self._pool: Any = None
        self._cluster: Any = None
        self._start()

    def _start(self) -> None:
        if self.kind == "process":
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"))
        elif self.kind == "dask":
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise ConfigError("executor.kind = 'dask' needs Dask: pip install -e .[dask]") from None
            try:
                if self.scheduler is None:
                    self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                 processes=True, host="127.0.0.1",
                                                 dashboard_address=None)
                    self._pool = Client(self._cluster)
                else:
                    self._pool = Client(self.scheduler, timeout="30s")
            except OSError as err:
                raise ConfigError(f"executor.scheduler = {self.scheduler!r}: cannot connect ({err})") from None

    def submit(self, fn: Callable, arg: Any) -> concurrent.futures.Future:
        """Runs ``fn(arg)``; returns a future whose ``result()`` is its value or raises its error."""
        if self.kind == "local":
            future: concurrent.futures.Future = concurrent.futures.Future()
            try:
                future.set_result(fn(arg))
            except Exception as err:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(err)
            return future
        if self.kind == "dask":
            return self._pool.submit(fn, arg, pure=False, retries=2)
        return self._pool.submit(fn, arg)

    def restart(self) -> None:
        """Replaces a broken process pool with a fresh one."""
        if self.kind == "process":
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._start()

    def close(self) -> None:
        if self._pool is not None:
            if self.kind == "process":
                self._pool.shutdown(wait=True, cancel_futures=True)
            else:
                self._pool.close()
        if self._cluster is not None:
            self._cluster.close()
        self._pool = self._cluster = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_executor(executor: ExecutorConfig, q: int) -> Executor:
    """Starts the executor a config asks for."""
    return Executor(resolve_kind(executor, q), executor.workers, executor.scheduler)
