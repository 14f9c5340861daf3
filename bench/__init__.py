"""Benchmarks that print figures (not timed tests). ``make bench`` runs them all."""
