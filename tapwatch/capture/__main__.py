"""``python -m tapwatch.capture --child|--drain ...``: capture's child processes (see child.py)."""

import sys

from tapwatch.capture.child import main

sys.exit(main(sys.argv[1:]))
