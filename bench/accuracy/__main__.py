"""python -m bench.accuracy (run from the repository root): see bench/accuracy/run.py."""
import sys

from bench.accuracy.run import main

sys.exit(main())
