"""DataLoader: batch contents and order, reproducible shuffling, drop_last, len, generic datasets."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.data import DataLoader, Dataset, TensorDataset


def dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(x, np.arange(n)), x


def test_sequential_batches_cover_the_data_in_order():
    ds, x = dataset(10)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(isinstance(t, tg.Tensor) for b in batches for t in b)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float32
    with pytest.raises(ValueError):                   # views into the dataset are read-only
        batches[0][0].numpy()[0, 0] = 99.0
    assert x[0, 0] == 0


def test_len_and_drop_last():
    ds, _ = dataset(10)
    assert len(DataLoader(ds, batch_size=4)) == 3 and len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(list(DataLoader(ds, batch_size=4, drop_last=True))) == 2
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(list(DataLoader(ds))) == 10


def test_shuffle_is_a_permutation_reproducible_with_manual_seed_and_new_each_epoch():
    ds, x = dataset(50)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    tg.manual_seed(0)
    epoch1 = np.concatenate([b[1].numpy() for b in loader])
    epoch2 = np.concatenate([b[1].numpy() for b in loader])
    assert sorted(epoch1) == list(range(50)) and sorted(epoch2) == list(range(50))
    assert not np.array_equal(epoch1, epoch2) and not np.array_equal(epoch1, np.arange(50))
    tg.manual_seed(0)
    again = [b for b in loader]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in again]), epoch1)
    for xb, yb in again:                              # features stay paired with their labels
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, float(i)), "y": i * i, "w": 0.5}


def test_generic_dataset_is_collated_field_by_field():
    batches = list(DataLoader(Squares(), batch_size=3))
    assert len(batches) == 3
    b = batches[1]
    np.testing.assert_array_equal(b["x"].numpy(), [[3, 3], [4, 4], [5, 5]])
    np.testing.assert_array_equal(b["y"].numpy(), [9, 16, 25])
    assert b["y"].dtype == np.int64 and b["w"].dtype == np.float32 and b["x"].dtype == np.float64
    tg.manual_seed(3)
    ys = np.concatenate([b["y"].numpy() for b in DataLoader(Squares(), batch_size=2, shuffle=True)])
    assert sorted(ys) == [i * i for i in range(7)]
    first = TensorDataset(np.ones((3, 2)), np.zeros(3))[1]
    assert isinstance(first, tuple) and first[0].shape == (2,)


def test_errors():
    with pytest.raises(ValueError, match=r"TensorDataset: all arrays must have the same first dimension, got sizes \[3, 4\]"):
        TensorDataset(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive integer, got 0"):
        DataLoader(dataset()[0], batch_size=0)
    for bad in (2.0, True, "2", None, -3):
        with pytest.raises(ValueError, match=f"^DataLoader: batch_size must be a positive integer, got {bad!r}$"):
            DataLoader(dataset()[0], batch_size=bad)
    assert DataLoader(dataset()[0], batch_size=np.int64(4)).batch_size == 4
    with pytest.raises(TypeError, match="DataLoader: dataset must define"):
        DataLoader(5)
