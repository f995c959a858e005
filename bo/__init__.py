"""bo: black-box optimisation in JAX — spaces, GP regression, acquisitions and search strategies.

Knows nothing of networks or physics. Public names:

- `Real`, `Integer`, `Categorical`, `Space`, `SpaceError` — search spaces (`bo.space`).
- `Optimizer(space, method="gp", seed=0, **options)` with `.ask(n)` / `.tell(points, values,
  noise=None)` (noise: known observation-noise variances), and `minimize(fun, space, budget, ...)
  -> Result` (`bo.optimizer`); `objectives=M` for M minimised objectives (EHVI for two, ParEGO
  for any number) with `.pareto_front()`.
- `bo.gp`: `fit(X, y, kernel="matern52", noise=True)` and `predict(model, Xs) -> (mean, var)`.
- `bo.acquisition`: UCB, log-EI, EI, PI, MES and Thompson sample paths.
- `bo.strategies`: the functional init / ask / tell core under `Optimizer`; `bo.cmaes` CMA-ES;
  `bo.turbo` TuRBO-1 trust-region BO (`method="turbo"`).
- `bo.pareto`: Pareto fronts, hypervolume, ParEGO scalarisation, 2-D EHVI.
- Known constraints (`bo.constraints`): `Optimizer(..., constraints=[f])`, f(point) <= 0 feasible.

Importing bo turns on JAX's float64 mode (GP maths needs it); other rooms use explicit dtypes.
Values are minimised; acquisitions are utilities that are maximised.
"""

from bo import acquisition, cmaes, constraints, gp, pareto, strategies, turbo
from bo.optimizer import Optimizer, Result, minimize
from bo.pareto import hypervolume, pareto_front
from bo.space import Categorical, Integer, Real, Space, SpaceError

__all__ = ["Real", "Integer", "Categorical", "Space", "SpaceError", "Optimizer", "Result", "minimize",
           "gp", "acquisition", "strategies", "cmaes", "turbo", "constraints", "pareto", "pareto_front",
           "hypervolume"]
