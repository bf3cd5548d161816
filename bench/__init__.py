"""Benchmarks (`make bench`): kept out of `make test`; each module has a `main()` that prints its report."""
