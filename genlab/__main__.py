"""`python -m genlab ...`: the command line over the same core the app uses."""
import sys

from genlab.cli import main

sys.exit(main())
