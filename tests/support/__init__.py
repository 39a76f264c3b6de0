"""Test-only helpers shared by the tests and the benchmarks; production code never imports them."""
