"""Prism's operator tools: what a person runs beside the pipeline, never deployed.

The ``prism`` command line (``cli``, ``commands``), the capacity plan and its simulated
day (``capacity``), the cost model (``cost``), applying lifecycle rules to a local store
and plotting them (``lifecycle``), result migration and the dead-letter replay. They
build on the core (``prism``) and may drive the local platform (``prism_local``); the
core imports neither.
"""
