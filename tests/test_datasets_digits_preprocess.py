"""datasets.load_digits (embedded data) and datasets.preprocess helpers."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets import (load_digits, one_hot, scale01, select_classes, standardize,  # noqa: E402
                      train_test_split)
from datasets.digits import DIGITS_PATH  # noqa: E402

DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_file_ships_with_checkout():
    assert DIGITS_PATH.is_file()
    assert DIGITS_PATH.stat().st_size == 57523
    assert DIGITS_PATH.parent == Path(__file__).resolve().parents[1] / "datasets" / "data"


def test_load_digits_shapes_counts_range():
    X, y = load_digits()
    assert X.shape == (1797, 8, 8) and X.dtype == np.uint8
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == DIGIT_COUNTS
    assert X.min() == 0 and X.max() == 16
    # first row of the CSV is a 0: 0,0,5,13,9,1,0,0,...
    assert y[0] == 0 and X[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_load_digits_bad_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv.gz"):
        load_digits(tmp_path / "nope.csv.gz")
    bad = tmp_path / "bad.csv.gz"
    import gzip
    bad.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    with pytest.raises(ValueError, match="bad.csv.gz has 3 columns"):
        load_digits(bad)


def test_scale01():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    s = scale01(x)
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, [[0.0, 0.2, 1.0]], rtol=1e-6)
    with pytest.raises(TypeError, match="expected uint8.*float64"):
        scale01(np.zeros(3))


def test_standardize_per_feature_and_constant_column():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(200, 3)).astype(np.float32)
    x[:, 2] = 7.0  # constant feature
    z, mean, std = standardize(x)
    assert z.dtype == np.float32 and mean.shape == (1, 3) and std.shape == (1, 3)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-4)
    assert np.all(z[:, 2] == 0) and std[0, 2] == 1 and np.isfinite(z).all()
    # statistics reused on new data
    x2 = x[:10] + 1
    z2, m2, s2 = standardize(x2, mean, std)
    np.testing.assert_allclose(z2[:, 0], (x2[:, 0] - mean[0, 0]) / std[0, 0], rtol=1e-5)
    assert m2 is not None and np.array_equal(m2, mean)


def test_standardize_global_and_errors():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    z, mean, std = standardize(x, axis=None)
    assert mean.shape == (1, 1)
    assert abs(float(mean.ravel()[0]) - 5.5) < 1e-6
    np.testing.assert_allclose(z.std(), 1, atol=1e-5)
    with pytest.raises(ValueError, match=r"mean of shape \(5,\) does not broadcast against x of shape \(3, 4\)"):
        standardize(x, np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="both mean and std"):
        standardize(x, mean=np.zeros(4))
    with pytest.raises(ValueError, match="positive"):
        standardize(x, np.zeros(4), np.zeros(4))


def test_one_hot():
    oh = one_hot(np.array([2, 0, 1]), 4)
    assert oh.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert oh.dtype == np.float32
    assert one_hot(np.array([1, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match=r"labels 0\.\.5 do not fit num_classes=3"):
        one_hot(np.array([0, 5]), 3)
    with pytest.raises(ValueError, match="integer labels"):
        one_hot(np.array([0.5]))


def test_train_test_split_stratified_on_digits():
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(yte) == 360 and len(ytr) == 1437  # the 80/20 split of the seed project
    assert Xtr.shape == (1437, 8, 8) and Xte.shape == (360, 8, 8)
    expected = np.array(DIGIT_COUNTS) * 360 / 1797
    assert np.all(np.abs(np.bincount(yte, minlength=10) - expected) < 1)
    # pairs stay together: every (image, label) of the split exists in the original
    orig = {(X[i].tobytes(), int(y[i])) for i in range(len(y))}
    assert all((Xte[i].tobytes(), int(yte[i])) in orig for i in range(len(yte)))
    # same seed -> same split, other seed -> other split
    again = train_test_split(X, y, test_size=0.2, seed=0)
    assert np.array_equal(again[3], yte) and np.array_equal(again[1], Xte)
    assert not np.array_equal(train_test_split(X, y, seed=1)[1], Xte)


def test_train_test_split_partition_and_errors():
    X = np.arange(10)
    y = np.array([0] * 5 + [1] * 5)
    for stratify in (True, False):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=4, seed=3, stratify=stratify)
        assert sorted(Xtr.tolist() + Xte.tolist()) == list(range(10)) and len(Xte) == 4
        assert np.array_equal(y[Xte], yte) and np.array_equal(y[Xtr], ytr)
    assert np.bincount(train_test_split(X, y, test_size=4, seed=3)[3]).tolist() == [2, 2]
    with pytest.raises(ValueError, match="both parts must be non-empty"):
        train_test_split(X, y, test_size=10)
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match=r"X of shape \(10,\) and y of shape \(9,\)"):
        train_test_split(X, y[:9])


def test_select_classes_one_vs_nine():
    X, y = load_digits()
    Xb, yb = select_classes(X, y, (1, 9))
    assert Xb.shape == (182 + 180, 8, 8) and yb.dtype == np.int64
    assert np.bincount(yb).tolist() == [182, 180]
    assert np.array_equal(Xb[yb == 0], X[y == 1]) and np.array_equal(Xb[yb == 1], X[y == 9])
    with pytest.raises(ValueError, match=r"no samples with label\(s\) \[42\]"):
        select_classes(X, y, (1, 42))
