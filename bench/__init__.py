"""tapwatch benchmarks: run with `python bench/run.py` (as root)."""
