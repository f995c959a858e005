import sys

from ntbo.demo import main

sys.exit(main())
