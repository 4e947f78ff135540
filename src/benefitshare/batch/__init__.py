"""Batch runs: sweep files, planning, running on executors, and the Parquet store."""
