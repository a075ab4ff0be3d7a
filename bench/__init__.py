"""Benchmarks: each module has `run() -> list[dict]`; `python -m bench` prints one table of ratios."""
