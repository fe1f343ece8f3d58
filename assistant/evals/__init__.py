"""Evaluation: metrics, eval cases, runs, baseline gate and report."""
