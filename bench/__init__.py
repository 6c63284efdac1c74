"""Promogate benchmarks: `python -m bench` runs every workload beside its floors (see README)."""
