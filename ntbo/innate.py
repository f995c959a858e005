"""The original Innate API, kept for its users' scripts.

    ie = ntbo.init()                                   # local; or ntbo.init("tcp://host:8786")
    res = ntbo.train_net(ie, "net-a", "net.json", "showers.root", "results", nb_epochs=50)
    future = ntbo.async_train(ie, "net-b", "net2.json", "showers.root", "results")
    ntbo.plot_loss(res)                                # writes results/net-a/loss.png
    print(res["etime"], res["val_background_efficiency"])

``nn_file`` is a JSON topology (``{"hidden": [32, 16], "activation": "relu"}``); ``data_file`` is
a ROOT ntuple (read with `hgcal.load`) or an ``.npz`` with ``x_train, y_train, x_val, y_val``
(or ``x, y``, split 80/20). Features are standardised on the training split and the scaling is
folded into the saved network, as in the search.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import nets

from ntbo import data as data_mod
from ntbo.config import DataConfig
from ntbo.errors import ConfigError
from ntbo.executors import Executor


@dataclasses.dataclass
class Engine:
    """What `init` returns: where `train_net` and `async_train` run.

    Attributes:
        scheduler: None (this machine) or a Dask scheduler address.
        executor: started lazily by the first `async_train`: one background thread on this
            machine (JAX releases the GIL while it trains), or a Dask client.
    """

    scheduler: str | None = None
    executor: Any = None

    def close(self) -> None:
        """Waits for and stops the workers `async_train` started."""
        if self.executor is not None:
            if isinstance(self.executor, Executor):
                self.executor.close()
            else:
                self.executor.shutdown()
            self.executor = None


def init(scheduler: str | None = None) -> Engine:
    """Prepares the engine: None trains on this machine, ``"tcp://host:8786"`` on a Dask cluster."""
    if scheduler is not None and not (isinstance(scheduler, str) and "://" in scheduler):
        raise ConfigError(f"scheduler = {scheduler!r}: give None (local) or an address such as "
                          "'tcp://host:8786'")
    return Engine(scheduler)


def _npz(path: Path) -> data_mod.Prepared:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ConfigError(f"data_file {path}: not a readable .npz ({err})") from None
    if {"x_train", "y_train", "x_val", "y_val"} <= set(arrays):
        raw = nets.Data(arrays["x_train"], arrays["y_train"], arrays["x_val"], arrays["y_val"])
    elif {"x", "y"} <= set(arrays):
        raw = nets.Data.split(arrays["x"], arrays["y"], val_fraction=0.2)
    else:
        raise ConfigError(f"data_file {path}: needs arrays x_train, y_train, x_val, y_val (or x, y); "
                          f"it has {', '.join(sorted(arrays)) or 'none'}")
    mean = raw.x_train.mean(axis=0)
    std = raw.x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    data = nets.Data((raw.x_train - mean) / std, raw.y_train, (raw.x_val - mean) / std, raw.y_val)
    names = tuple(f"x{i}" for i in range(raw.x_train.shape[1]))
    return data_mod.Prepared(data, mean.astype(np.float32), std, names)


def _prepare(data_file: Path, folder: Path) -> data_mod.Prepared:
    if data_file.suffix == ".npz":
        return _npz(data_file)
    return data_mod.load(data_mod.data_spec(DataConfig(paths=(str(data_file),)), folder))


def _topology(nn_file: Path) -> nets.Topology:
    try:
        return nets.Topology.from_dict(json.loads(nn_file.read_text()))
    except FileNotFoundError:
        raise ConfigError(f"nn_file {nn_file}: not found") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"nn_file {nn_file}: not valid JSON ({err})") from None


def run_task(task: dict) -> dict:
    """Trains one network (module-level and plain data, so pools and Dask can run it)."""
    start = time.time()
    folder = Path(task["results_folder"]) / task["task_name"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"results_folder {folder}: cannot create it ({err.strerror})") from None
    topology = _topology(Path(task["nn_file"]))
    prepared = _prepare(Path(task["data_file"]), Path(task["results_folder"]))
    [result] = nets.train_many([topology], prepared.data, seeds=(task["seed"],),
                               epochs=task["nb_epochs"], batch_size=task["batch_size"], lr=task["lr"])
    res: dict[str, Any] = {
        "task_name": task["task_name"], "topology": topology.to_dict(), "failed": result.failed,
        "message": result.message, "val_loss": result.val_loss, "val_auc": result.val_auc,
        "val_background_efficiency": result.val_background_efficiency,
        "best_epoch": result.best_epoch, "history": {k: v.tolist() for k, v in result.history.items()},
        "folder": str(folder), "model": None}
    if not result.failed:
        params = data_mod.fold_scaling(result.params, prepared.mean, prepared.std)
        nets.save(folder / "model", topology, params, n_inputs=prepared.n_inputs,
                  info={k: res[k] for k in ("task_name", "val_loss", "val_auc",
                                            "val_background_efficiency", "best_epoch", "history")})
        res["model"] = str(folder / "model")
    res["etime"] = time.time() - start
    return res


def _task(task_name, nn_file, data_file, results_folder, nb_epochs, batch_size, lr, seed) -> dict:
    if not isinstance(task_name, str) or not task_name or "/" in task_name:
        raise ConfigError(f"task_name = {task_name!r}: give a non-empty name without '/'")
    if isinstance(nb_epochs, bool) or not isinstance(nb_epochs, int) or nb_epochs < 1:
        raise ConfigError(f"nb_epochs = {nb_epochs!r}: give a whole number >= 1")
    return {"task_name": task_name, "nn_file": str(nn_file), "data_file": str(data_file),
            "results_folder": str(results_folder), "nb_epochs": nb_epochs,
            "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed)}


def train_net(ie: Engine, task_name: str, nn_file, data_file, results_folder, nb_epochs: int = 1000,
              *, batch_size: int = 256, lr: float = 1e-3, seed: int = 0) -> dict:
    """Trains the network of ``nn_file`` on ``data_file`` and waits for it.

    Args:
        ie: from `init`.
        task_name: names the sub-folder of ``results_folder`` that receives the model.
        nn_file: JSON topology.
        data_file: ROOT ntuple or ``.npz``.
        results_folder: where ``<task_name>/model.npz`` and ``.json`` go.
        nb_epochs: training epochs.
        batch_size, lr, seed: training options.

    Returns:
        A dict: ``etime`` (seconds), ``val_loss``, ``val_auc``, ``val_background_efficiency``,
        ``history`` (``loss``, ``val_loss``, ``lr`` per epoch), ``failed``, ``message``,
        ``model`` (the saved stem, None if training failed), ``folder``, ``topology``.
    """
    task = _task(task_name, nn_file, data_file, results_folder, nb_epochs, batch_size, lr, seed)
    if ie.scheduler is None:
        return run_task(task)
    return async_train(ie, task_name, nn_file, data_file, results_folder, nb_epochs,
                       batch_size=batch_size, lr=lr, seed=seed).result()


def async_train(ie: Engine, task_name: str, nn_file, data_file, results_folder, nb_epochs: int = 1000,
                *, batch_size: int = 256, lr: float = 1e-3, seed: int = 0):
    """As `train_net`, but returns at once with a future (``.result()`` gives the dict)."""
    task = _task(task_name, nn_file, data_file, results_folder, nb_epochs, batch_size, lr, seed)
    if ie.executor is None:
        ie.executor = (concurrent.futures.ThreadPoolExecutor(1) if ie.scheduler is None
                       else Executor("dask", 1, ie.scheduler))
    return ie.executor.submit(run_task, task)


def plot_loss(res: dict, path=None) -> Path:
    """Plots training and validation loss per epoch; returns the PNG path
    (default ``<folder>/loss.png``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path) if path is not None else Path(res["folder"]) / "loss.png"
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name in ("loss", "val_loss"):
        values = np.asarray(res["history"][name], float)
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(res.get("task_name", ""))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
