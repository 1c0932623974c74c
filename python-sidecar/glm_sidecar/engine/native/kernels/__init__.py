"""The CPU kernels as one package: the C sources beside this file, their build (build.py) and their ops.Custom
registration for MindSpore (custom_ops.py)."""
