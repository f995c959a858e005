"""ntbo: the front door — topology search runner, storage, executors, CLI and the Innate API.

Today `python -m ntbo` runs the optimiser demo (`ntbo.demo`): `bo.minimize` against random
search on Branin and Hartmann6. The search runner (`ntbo.search`), SQLite study storage, local or
Dask execution, the `ntbo` console script and the original Innate API (`init`, `train_net`,
`plot_loss`) arrive with the topology-search issue.
"""
