"""`python -m tapwatch` runs the same entry point as the console script."""

from tapwatch.cli import main

raise SystemExit(main())
