"""The benchmark suite: `make bench` (or `make bench-quick`); see run.py."""
