"""nets: Flax multi-layer perceptrons and a vmapped trainer.

Will hold `Topology`, `train_many` (a whole batch of padded topologies and seeds trained in one
compiled call, Adam with cosine warm restarts), `Data`, and `metrics` (AUC, background efficiency).
Knows nothing of bo/ or physics.
"""
