"""Benchmarks of datasetlog against a plain-SQLite floor and baselines; see README.md."""
