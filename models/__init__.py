"""The seed models rebuilt on tinygrad_np, trained on real data with one command (run from the checkout):

    python -m models list
    python -m models train digits_mlp
    python -m models evaluate runs/digits_mlp
    python -m models predict runs/digits_mlp my_digit.png

Every model's architecture, data and default recipe live in models/registry.py. Trained runs from Python:
``models.load_run(path)`` (see models/api.py and docs/models.md).
"""
from .api import FilePrediction, Run, load_run
from .registry import MODELS, DataSpec, ModelSpec, Recipe, get_spec

__all__ = ["MODELS", "ModelSpec", "DataSpec", "Recipe", "get_spec", "load_run", "Run", "FilePrediction"]
