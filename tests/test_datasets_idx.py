"""datasets.read_idx, load_mnist / load_fashion_mnist: real files when present, small files made here."""
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import datasets  # noqa: E402
from datasets import load_fashion_mnist, load_mnist, read_idx, write_idx  # noqa: E402
from datasets import mnist as mnist_mod  # noqa: E402


def _shared_data():
    for cand in (os.environ.get("TINYGRAD_NP_SHARED_DATA"), REPO.parent / "shared" / "data"):
        if cand and (Path(cand) / "mnist" / "train-labels-idx1-ubyte.gz").is_file():
            return Path(cand)
    return None


SHARED = _shared_data()
needs_real = pytest.mark.skipif(SHARED is None, reason="shared/data with MNIST not found beside the checkout")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $TINYGRAD_NP_DATA, a private user cache, and mirrors that are never the internet."""
    monkeypatch.delenv("TINYGRAD_NP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(mnist_mod, "MNIST_MIRRORS", [(tmp_path / "no-mirror").as_uri() + "/"])
    monkeypatch.setattr(mnist_mod, "FASHION_MNIST_MIRRORS", [(tmp_path / "no-mirror").as_uri() + "/"])
    return tmp_path


def _fake_split(folder: Path, n=5, prefix="t10k", gz=True, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    ext = ".gz" if gz else ""
    img_name, lbl_name = names or (f"{prefix}-images-idx3-ubyte{ext}", f"{prefix}-labels-idx1-ubyte{ext}")
    write_idx(folder / img_name, images)
    write_idx(folder / lbl_name, labels)
    return images, labels


# ---------------------------------------------------------------- real data
@needs_real
def test_real_mnist_train_and_test():
    t = time.perf_counter()
    X, y = load_mnist("train", root=SHARED / "mnist")
    elapsed = time.perf_counter() - t
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert round(float(X.mean()), 3) == 33.318
    assert not X.flags.writeable
    assert elapsed < 2.0, f"parsing 60000 MNIST images took {elapsed:.2f} s"
    Xt, yt = load_mnist("test", root=SHARED)  # finds root/mnist
    assert Xt.shape == (10000, 28, 28)
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert round(float(Xt.mean()), 3) == 33.791


@needs_real
def test_real_fashion_mnist_via_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(SHARED))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    X, y = load_fashion_mnist("train")
    assert X.shape == (60000, 28, 28) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [6000] * 10
    assert round(float(X.mean()), 3) == 72.940
    Xt, yt = load_fashion_mnist("test")
    assert np.bincount(yt).tolist() == [1000] * 10 and Xt.shape == (10000, 28, 28)
    assert datasets.FASHION_MNIST_CLASSES[9] == "Ankle boot"


@needs_real
def test_real_idx_header_magic():
    with gzip.open(SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        assert f.read(4) == b"\x00\x00\x08\x01"
    a = read_idx(SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert a.shape == (10000,) and a.dtype == np.uint8 and a[:5].tolist() == [7, 2, 1, 0, 4]


# ---------------------------------------------------------------- read_idx on files made here
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(p, a)
    b = read_idx(p)
    assert b.shape == (2, 3, 4) and b.dtype == np.dtype(dtype).newbyteorder("=")
    assert np.array_equal(a, b) and not b.flags.writeable


def test_read_idx_is_big_endian(tmp_path):
    p = tmp_path / "be.idx"
    p.write_bytes(b"\x00\x00\x0b\x01" + (2).to_bytes(4, "big") + b"\x01\x02\xff\xfe")
    assert read_idx(p).tolist() == [258, -2]


def test_read_idx_truncated(tmp_path):
    p = tmp_path / "t10k-images.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + np.array([10000, 28, 28], ">u4").tobytes() + bytes(123)))
    with pytest.raises(ValueError, match=r"read_idx: .*t10k-images.gz is truncated: header says 10000x28x28 "
                                         r"ubyte, expected 7840000 data bytes, found 123 bytes"):
        read_idx(p)


def test_read_idx_truncated_gzip_stream(tmp_path):
    p = tmp_path / "cut.idx.gz"
    write_idx(p, np.arange(1000, dtype=np.int32))
    p.write_bytes(p.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"cut.idx.gz is not a valid gzip file"):
        read_idx(p)


def test_read_idx_bad_magic_dtype_extra(tmp_path):
    p = tmp_path / "magic.idx"
    p.write_bytes(b"\x01\x02\x08\x01" + (1).to_bytes(4, "big") + b"\x05")
    with pytest.raises(ValueError, match=r"magic.idx has a bad magic number 0x01020801"):
        read_idx(p)
    p = tmp_path / "code.idx"
    p.write_bytes(b"\x00\x00\x0a\x01" + (1).to_bytes(4, "big") + b"\x05")
    with pytest.raises(ValueError, match=r"code.idx has unknown dtype code 0x0A"):
        read_idx(p)
    p = tmp_path / "extra.idx"
    p.write_bytes(b"\x00\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x05\x06")
    with pytest.raises(ValueError, match=r"extra.idx has 1 extra bytes after the 1 ubyte data"):
        read_idx(p)
    p = tmp_path / "short.idx"
    p.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match=r"short.idx is truncated inside its header"):
        read_idx(p)
    with pytest.raises(FileNotFoundError, match="missing.idx"):
        read_idx(tmp_path / "missing.idx")


# ---------------------------------------------------------------- load_mnist lookup on files made here
def test_load_mnist_from_root_and_ungzipped_names(isolated):
    images, labels = _fake_split(isolated / "data" / "mnist", n=7, gz=False,
                                 names=("t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"))
    X, y = load_mnist("test", root=isolated / "data")
    assert np.array_equal(X, images) and y.tolist() == labels.tolist() and y.dtype == np.int64


def test_load_mnist_env_var_directly_in_folder(isolated, monkeypatch):
    images, _ = _fake_split(isolated / "flat", n=4, prefix="train", gz=False)
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(isolated / "flat"))
    X, y = load_mnist("train")
    assert np.array_equal(X, images) and y.tolist() == [0, 1, 2, 3]
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte\.gz"):  # test split not there
        load_mnist("test")


def test_load_mnist_user_cache(isolated):
    images, _ = _fake_split(isolated / "xdg" / "tinygrad_np" / "fashion-mnist", n=3)
    X, _ = load_fashion_mnist("test")
    assert np.array_equal(X, images)


def test_load_mnist_count_mismatch(isolated):
    folder = isolated / "mm"
    _fake_split(folder, n=5)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz has 5 images but .*t10k-labels-idx1-ubyte.gz "
                                         r"has 4 labels"):
        load_mnist("test", root=folder)


def test_load_mnist_labels_out_of_range(isolated):
    folder = isolated / "lab"
    _fake_split(folder, n=3)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 12], np.uint8))
    with pytest.raises(ValueError, match=r"labels 0\.\.12, expected 0\.\.9"):
        load_mnist("test", root=folder)


def test_load_mnist_not_found_message(isolated):
    with pytest.raises(FileNotFoundError) as exc:
        load_mnist("train")
    msg = str(exc.value)
    for needed in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "train-images.idx3-ubyte",
                   "root=", "TINYGRAD_NP_DATA", str(isolated / "xdg" / "tinygrad_np" / "mnist"),
                   "Download failed", "no-mirror"):
        assert needed in msg, needed
    assert not list((isolated / "xdg" / "tinygrad_np" / "mnist").glob("*"))  # nothing half-written
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_mnist("train", download=False)


def test_load_mnist_bad_arguments(isolated):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'valid'"):
        load_mnist("valid")
    with pytest.raises(FileNotFoundError, match="root .*nowhere does not exist"):
        load_mnist("train", root=isolated / "nowhere")
    (isolated / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match="afile is a file"):
        load_mnist("train", root=isolated / "afile")
    (isolated / "emptyroot").mkdir()
    with pytest.raises(FileNotFoundError, match="emptyroot"):  # explicit root: no download, clear message
        load_mnist("train", root=isolated / "emptyroot")


# ---------------------------------------------------------------- downloads from a local file:// mirror
def _mirror(folder: Path, monkeypatch, fix_checksums: bool):
    images, labels = _fake_split(folder, n=6)
    if fix_checksums:
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            monkeypatch.setitem(mnist_mod.MNIST_SHA256, name, datasets._download.sha256_file(folder / name))
    return images, labels


def test_download_from_mirror_then_cache(isolated, monkeypatch):
    images, labels = _mirror(isolated / "mirror", monkeypatch, fix_checksums=True)
    X, y = load_mnist("test", mirrors=(isolated / "mirror").as_uri())
    assert np.array_equal(X, images) and y.tolist() == labels.tolist()
    cache = isolated / "xdg" / "tinygrad_np" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    # second call: served from the cache, the (now broken) mirror is not needed
    X2, _ = load_mnist("test", mirrors=(isolated / "gone").as_uri())
    assert np.array_equal(X2, images)


def test_download_module_attribute_mirror(isolated, monkeypatch):
    images, _ = _mirror(isolated / "m2", monkeypatch, fix_checksums=True)
    monkeypatch.setattr(mnist_mod, "MNIST_MIRRORS", [(isolated / "nothing").as_uri(), (isolated / "m2").as_uri()])
    X, _ = load_mnist("test")  # first mirror fails, second works
    assert np.array_equal(X, images)


def test_download_wrong_checksum(isolated, monkeypatch):
    _mirror(isolated / "mirror", monkeypatch, fix_checksums=False)  # real MNIST sha256 will not match
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz from file:.* failed its checksum: sha256 "
                                         r"[0-9a-f]{64}, expected 8d422c7b"):
        load_mnist("test", mirrors=[(isolated / "mirror").as_uri()])
    cache = isolated / "xdg" / "tinygrad_np" / "mnist"
    assert not list(cache.glob("*"))  # no bad file, no temp file


def test_parse_speed_synthetic(tmp_path):
    """60000 28x28 images parse about as fast as gzip can inflate them, even without the real files.

    A ratio to the bare `gzip.decompress` + `np.frombuffer` of the same file, timed side by side (best of 3
    each), not an absolute time: the machine may be shared and busy, which slows both alike."""
    p = tmp_path / "big-idx3-ubyte.gz"
    a = np.zeros((60000, 28, 28), dtype=np.uint8)
    a[:, 4:24, 4:24] = (np.arange(60000) % 251).astype(np.uint8)[:, None, None]  # digit-like blobs
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + np.array(a.shape, ">u4").tobytes() + a.tobytes(), 1))

    def bare():
        return np.frombuffer(gzip.decompress(p.read_bytes())[16:], np.uint8).reshape(a.shape)

    def best(fn):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out
    t_bare, _ = best(bare)
    t_read, b = best(lambda: read_idx(p))
    assert b.shape == (60000, 28, 28) and np.array_equal(a[123], b[123])
    assert t_read < 3 * t_bare + 0.05, (t_read, t_bare)      # +50 ms: the fixed cost of opening and checking


def test_download_without_tqdm_plain_progress(isolated, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    images, _ = _mirror(isolated / "m3", monkeypatch, fix_checksums=True)
    X, _ = load_mnist("test", mirrors=[(isolated / "m3").as_uri()])
    assert np.array_equal(X, images)
    mask = os.umask(0)
    os.umask(mask)
    mode = (isolated / "xdg" / "tinygrad_np" / "mnist" / "t10k-images-idx3-ubyte.gz").stat().st_mode
    assert mode & 0o777 == 0o666 & ~mask  # not the 0600 of the temp file
