"""Batch runs: sweeps of many variants of a scenario, run on any executor, resumably.

The batch layer sits above the analysis layer and below the charts. Its modules, in the order a
sweep goes through them:

- :mod:`~benefitshare.batch.spec`: the sweep file's schema, loading, and the sweep errors;
- :mod:`~benefitshare.batch.plan`: the designs' points and the variants as validated tasks;
- :mod:`~benefitshare.batch.worker`: running one variant (what an executor calls);
- :mod:`~benefitshare.batch.executors`: where variants run (serial, processes, Dask);
- :mod:`~benefitshare.batch.store`: the results folder, one Parquet file per finished variant;
- :mod:`~benefitshare.batch.run`: :func:`~benefitshare.batch.run.sweep`, which drives them all.

The analysis of the results is :mod:`benefitshare.analysis.sweep_effects`; the charts are
:mod:`benefitshare.viz.sweep`.
"""
