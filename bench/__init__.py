"""Benchmarks: `python -m bench` lists them, `python -m bench NAME` runs one.

Each benchmark module exposes `run(size: int | None) -> dict`, sets up its own data and
processes, removes them after, prints progress, and returns the figures; the runner prints
them as one JSON object on the last line.
"""
