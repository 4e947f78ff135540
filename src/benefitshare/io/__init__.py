"""Reading input files and writing output folders: the only layer that touches the disk.

It renders nothing: chart modules hand it PNG bytes.
"""
