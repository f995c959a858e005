"""Where training batches run: in this process, in a spawn-started process pool, or on Dask.

All three give the shape the runner needs: ``submit(fn, arg) -> future`` with
``future.done()`` and ``future.result()``, and ``wait(futures, timeout)`` returning when the
first one finishes (``concurrent.futures.wait`` or Dask's ``wait``, FIRST_COMPLETED). The
function submitted is a module-level function taking plain data, so it pickles for the pool
and for Dask (pickle is used only for that inter-process traffic, never for files).

* ``local``: runs the call at once in the driver process (no start-up cost; q = 1 default).
* ``process``: `concurrent.futures.ProcessPoolExecutor` with the *spawn* start method (JAX's
  threads do not survive fork). A worker that dies breaks the pool: it is replaced and the
  lost tasks run again (``executor.retries`` times).
* ``dask``: `dask.distributed.Client` on a running scheduler (``executor.scheduler``), or on a
  `LocalCluster` bound to 127.0.0.1. Tasks are submitted with ``pure=False`` and
  ``retries=executor.retries``; a local cluster's scheduler also reschedules a task whose
  worker died that many times (``distributed.scheduler.allowed-failures``; a running
  scheduler keeps its own setting, 3 by default). SLURM or HTCondor sites start a
  ``dask_jobqueue`` cluster and pass its scheduler address.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import signal
from typing import Any, Callable, Sequence

from ntbo.config import ExecutorConfig
from ntbo.errors import ConfigError


def resolve_kind(executor: ExecutorConfig, q: int) -> str:
    """The executor kind that ``"auto"`` stands for: local for q = 1 and one worker without a
    timeout, else a process pool."""
    if executor.kind != "auto":
        return executor.kind
    return "local" if q == 1 and executor.workers == 1 and executor.timeout is None else "process"


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the search process, which stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Executor:
    """A started executor of one kind; close it (or use ``with``) to stop its workers.

    Args:
        kind: ``"local"``, ``"process"`` or ``"dask"`` (see `resolve_kind`).
        workers: worker processes.
        scheduler: Dask scheduler address, or None for a local cluster.
        retries: Dask's retries of a task whose worker was lost.

    Attributes:
        generation: incremented each time the process pool is replaced, so a caller can tell a
            future of the old pool from one of the new.

    Raises:
        ConfigError: Dask asked for but not installed, or its scheduler unreachable.
    """

    def __init__(self, kind: str, workers: int = 1, scheduler: str | None = None, retries: int = 2):
        self.kind, self.workers, self.scheduler = kind, int(workers), scheduler
        self.retries = int(retries)
        self.generation = 0
        self._pool: Any = None
        self._cluster: Any = None
        self._start()

    def _start(self) -> None:
        if self.kind == "process":
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_ignore_sigint)
        elif self.kind == "dask":
            try:
                import dask
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise ConfigError("executor.kind = 'dask' needs Dask: pip install -e .[dask]") from None
            try:
                if self.scheduler is None:
                    # A task whose worker dies is rescheduled up to allowed-failures times; the
                    # `retries` of submit count the task's own exceptions.
                    with dask.config.set({"distributed.scheduler.allowed-failures": self.retries}):
                        self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                     processes=True, host="127.0.0.1",
                                                     dashboard_address=None)
                    self._pool = Client(self._cluster)
                else:
                    self._pool = Client(self.scheduler, timeout="30s")
            except OSError as err:
                raise ConfigError(f"executor.scheduler = {self.scheduler!r}: cannot connect ({err})") from None

    @property
    def client(self):
        """The Dask client (kind ``"dask"``), else None."""
        return self._pool if self.kind == "dask" else None

    def submit(self, fn: Callable, arg: Any):
        """Runs ``fn(arg)``; returns a future whose ``result()`` is its value or raises its error
        (a `concurrent.futures.Future`, or a Dask future)."""
        if self.kind == "local":
            future: concurrent.futures.Future = concurrent.futures.Future()
            try:
                future.set_result(fn(arg))
            except Exception as err:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(err)
            return future
        if self.kind == "dask":
            return self._pool.submit(fn, arg, pure=False, retries=self.retries)
        return self._pool.submit(fn, arg)

    def wait(self, futures: Sequence, timeout: float | None) -> None:
        """Returns once one of the futures is done, or after ``timeout`` seconds."""
        if self.kind == "dask":
            from dask.distributed import wait
            try:
                wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            return
        concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)

    def stop(self, future) -> bool:
        """Stops a running task (after its timeout).

        A Dask task is cancelled and its worker restarted. A process pool cannot stop one task:
        its processes are terminated and the pool replaced, which loses the other running tasks.

        Returns:
            True when the other running tasks were lost and must be submitted again.
        """
        if self.kind == "dask":
            busy = [w for w, keys in self._pool.processing().items() if future.key in keys]
            self._pool.cancel([future], force=True)
            if busy:
                try:
                    self._pool.restart_workers(busy)
                except Exception:  # noqa: BLE001 - a worker without a nanny cannot be restarted
                    pass
            return False
        if self.kind == "process":
            self._terminate()
            self._start()
            self.generation += 1
            return True
        return False

    def restart(self) -> None:
        """Replaces a broken process pool with a fresh one."""
        if self.kind == "process":
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._start()
            self.generation += 1

    def _terminate(self) -> None:
        # ProcessPoolExecutor has no public way to stop running calls (Python 3.14 adds
        # terminate_workers); its process table is the only handle on them.
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Stops everything now, running tasks included (after Ctrl-C)."""
        if self.kind == "process" and self._pool is not None:
            self._terminate()
            self._pool = None
        self.close()

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
    return Executor(resolve_kind(executor, q), executor.workers, executor.scheduler, executor.retries)
