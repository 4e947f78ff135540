"""Reading input files and writing output folders: the only layer that touches the disk.

Just above the leaves (errors, glossary): :mod:`~benefitshare.io.files` reads and hashes files
and writes them atomically; :mod:`~benefitshare.io.run_folder` names, writes and reads output
folders and their manifests; :mod:`~benefitshare.io.report` formats a run's tables. It renders
nothing: chart modules hand it PNG bytes (``docs/model.md``, section 6 Layout).
"""
