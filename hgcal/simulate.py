"""``python -m hgcal.simulate --electrons N --pions N --out FILE.root``.

Only the command line lives here (see :mod:`hgcal.cli`); the function ``hgcal.simulate`` is
:func:`hgcal.simulation.simulate`.
"""

import sys

from hgcal.cli import main

if __name__ == "__main__":
    sys.exit(main())
