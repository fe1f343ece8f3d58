"""Benchmarks (retrieval quality, ingest throughput, search and draft latency); see bench/README.md."""
