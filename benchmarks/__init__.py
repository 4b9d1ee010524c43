"""Benchmarks that run h2site beside its competitors; see README.rst."""
