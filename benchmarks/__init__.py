"""Benchmarks of tinygrad_np against hand-written NumPy backprop and PyTorch: `python -m benchmarks --help`.

Imports nothing heavy: the parent process plans and reports; the numbers come from worker processes
that fix their BLAS thread count before NumPy loads (see worker.py).
"""
