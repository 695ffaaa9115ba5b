"""`python3 -m memplan` from a checkout (with generator/ on sys.path)."""

import sys

from memplan.cli import main

sys.exit(main())
