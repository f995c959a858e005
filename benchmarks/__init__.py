"""benchmarks: synthetic test functions, peer comparisons and speed benchmarks."""
