"""nets: Flax multi-layer perceptrons and a vmapped trainer.

Train a whole batch of MLP topologies x seeds at once: models are padded to shared shape buckets
and each bucket is one compiled ``jit(vmap(...))`` call (Adam with cosine warm restarts,
best-validation snapshots, NaN isolation). Also: `Data` for plain arrays, `metrics` (AUC and
background efficiency with bootstrap uncertainties), and `.npz` + JSON save/load.
Knows nothing of bo/ or physics.
"""

from nets import metrics
from nets.data import Data
from nets.errors import TrainError
from nets.io import Saved, load, save
from nets.mlp import MLP, apply, init_params
from nets.schedule import Schedule, sgdr
from nets.topology import ACTIVATIONS, Topology
from nets.trainer import TrainResult, train_many

__all__ = [
    "ACTIVATIONS", "Data", "MLP", "Saved", "Schedule", "Topology", "TrainError", "TrainResult",
    "apply", "init_params", "load", "metrics", "save", "sgdr", "train_many",
]
