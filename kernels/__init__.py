"""convcli's shipped kernels: JSON files (see ``kernel.schema.json``), installed as data.

This folder is installed as the package ``convcli.kernels.builtin``; the code that reads
it is :mod:`convcli.kernels._registry`.
"""
