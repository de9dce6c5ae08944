"""The one random generator behind init, dropout, shuffling and `randn`; `manual_seed` makes them repeatable."""
from __future__ import annotations

import numpy as np

_generator = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator (init, dropout, DataLoader shuffling, randn/rand)."""
    _generator[0] = np.random.default_rng(seed)
    return _generator[0]


def default_generator() -> np.random.Generator:
    """The generator currently in use (re-created by every `manual_seed`)."""
    return _generator[0]
