"""`Dataset`, `TensorDataset` and `DataLoader`: mini-batches as Tensors, PyTorch-shaped.

Shuffling draws one permutation per epoch from the global generator, so `tg.manual_seed(n)` makes
the batch order repeatable. For a `TensorDataset` a batch is one fancy-indexing of each array (no
per-sample Python loop); without shuffling it is a read-only slice view (no copy at all).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from . import _validate
from .random import default_generator
from .dtypes import as_array
from .tensor import Tensor


class Dataset:
    """Map-style dataset: subclasses define `__getitem__(i)` and `__len__()`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Samples are the i-th rows of several arrays (or Tensors) with the same first dimension:
    `TensorDataset(images, labels)[i] == (images[i], labels[i])` as Tensors."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one array")
        arrays = [t._data if isinstance(t, Tensor) else as_array(t, op="TensorDataset") for t in tensors]
        for a in arrays:
            if a.ndim == 0:
                raise ValueError("TensorDataset: arrays need a first (sample) dimension, got a 0-d array")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all arrays must have the same first dimension, got sizes {sizes}")
        self.arrays = arrays
        self.tensors = tuple(Tensor(a) for a in arrays)

    def __getitem__(self, index: Any) -> tuple:
        return tuple(Tensor(np.asarray(a[index])) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: Tensors/arrays/numbers → one Tensor with a new first axis
    (Python floats become float32, ints int64, as for `tg.tensor`); tuples, lists and dicts are
    collated field by field."""
    first = samples[0]
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("DataLoader: samples in a batch have different numbers of fields")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) if isinstance(first, tuple) \
            else [default_collate(list(field)) for field in zip(*samples)]
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, (bool, int, float)):
        return Tensor(list(samples))
    try:
        return Tensor(np.stack([s._data if isinstance(s, Tensor) else np.asarray(s) for s in samples]))
    except ValueError as e:
        raise ValueError(f"DataLoader: cannot stack samples into a batch: {e}") from None


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` Tensors; `shuffle=True` reorders every epoch
    (global generator); `drop_last=True` skips a final incomplete batch.

    PyTorch's other arguments are accepted so its scripts run: `num_workers` loads in this process (there
    are no worker processes, so `worker_init_fn`, `prefetch_factor`, `persistent_workers` and `timeout`
    have nothing to act on), `pin_memory` is meaningless without a GPU. `sampler`, `batch_sampler` and
    `generator` would change which samples come out, so they raise rather than being ignored."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, sampler: Any = None,
                 batch_sampler: Any = None, num_workers: int = 0, collate_fn: Any = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, generator: Any = None, *, prefetch_factor: Any = None,
                 persistent_workers: bool = False, pin_memory_device: str = "") -> None:
        for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler), ("generator", generator)):
            if value is not None:
                raise NotImplementedError(f"DataLoader: {name}= is not supported by tinygrad_np (shuffle=True and "
                                          "tg.manual_seed give a repeatable order)")
        _validate.integer(num_workers, "num_workers", "DataLoader", minimum=0)
        batch_size = _validate.integer(batch_size, "batch_size", "DataLoader", minimum=1)
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__, got {type(dataset).__name__}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = default_generator().permutation(n) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, n)
            if fast:
                yield tuple(Tensor(_take(a, order, start, end)) for a in self.dataset.arrays)
            else:
                idx = range(start, end) if order is None else order[start:end]
                yield self.collate_fn([self.dataset[int(i)] for i in idx])


def _take(array: np.ndarray, order: Any, start: int, end: int) -> np.ndarray:
    if order is None:
        view = array[start:end]
        view.flags.writeable = False     # a view into the dataset: refuse accidental in-place edits
        return view
    return array[order[start:end]]
