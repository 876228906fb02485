"""Benchmarks (`make bench`): each prints its figures and a ratio against a baseline measured in
the same run. Not part of `make test`."""
