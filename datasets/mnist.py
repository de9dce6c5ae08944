"""MNIST and Fashion-MNIST: find the IDX files (argument, $TINYGRAD_NP_DATA, user cache) or download them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _download
from .idx import read_idx

# Base URLs tried in order when the files are nowhere on disk. Module attributes so they can be replaced
# (tests point them at a file:// folder); the ``mirrors=`` argument of the loaders overrides them per call.
MNIST_MIRRORS: list[str] = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
FASHION_MNIST_MIRRORS: list[str] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]

_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# sha256 of the original .gz files (see shared/data/{mnist,fashion-mnist}/README.md)
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _split_stems(fn: str, split: str) -> tuple[str, str]:
    key = "test" if split == "t10k" else split
    if key not in _STEMS:
        raise ValueError(f"{fn}: split must be 'train' or 'test', got {split!r}")
    return _STEMS[key]


def _candidates(stem: str) -> list[str]:
    """Accepted names for one file: ``train-images-idx3-ubyte[.gz]`` and ``train-images.idx3-ubyte[.gz]``."""
    head, _, tail = stem.rpartition("-idx")
    dotted = f"{head}.idx{tail}"
    return [stem + ".gz", stem, dotted, dotted + ".gz"]


def _find_in(folder: Path, stems: Sequence[str]) -> list[Path] | None:
    """The files for all ``stems`` in ``folder``, or None unless every one is there."""
    found = []
    for stem in stems:
        hit = next((folder / n for n in _candidates(stem) if (folder / n).is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found


def _locate(fn: str, title: str, folder: str, stems: Sequence[str], root, download: bool,
            mirrors: Sequence[str], sha256: dict[str, str]) -> list[Path]:
    looked: list[str] = []
    if root is not None:
        r = Path(root).expanduser()
        if not r.exists():
            raise FileNotFoundError(f"{fn}: root {r} does not exist")
        if not r.is_dir():
            raise NotADirectoryError(f"{fn}: root {r} is a file, expected a folder holding the {title} IDX files")
        for d in (r, r / folder):
            if (hit := _find_in(d, stems)) is not None:
                return hit
            looked.append(str(d))
        raise FileNotFoundError(_not_found_message(fn, title, folder, stems, looked, []))
    env = os.environ.get(_download.ENV_VAR)
    if env:
        e = Path(env).expanduser()
        for d in (e / folder, e):
            if (hit := _find_in(d, stems)) is not None:
                return hit
            looked.append(f"{d} (${_download.ENV_VAR}{'' if e.is_dir() else ', does not exist'})")
    cache = _download.cache_dir(folder)
    if (hit := _find_in(cache, stems)) is not None:
        return hit
    looked.append(f"{cache} (user cache)")
    errors: list[str] = []
    if download:
        bad_checksum: list[str] = []
        for stem in stems:
            if any((cache / n).is_file() for n in _candidates(stem)):
                continue  # this one is already cached
            name = stem + ".gz"
            for base in mirrors:
                url = base.rstrip("/") + "/" + name
                try:
                    _download.download(url, cache / name, sha256=sha256.get(name))
                    break
                except ValueError as exc:
                    bad_checksum.append(str(exc))
                except OSError as exc:
                    errors.append(str(exc))
            else:
                if bad_checksum:
                    raise ValueError(f"{fn}: " + "; ".join(bad_checksum + errors))
                break
        if (hit := _find_in(cache, stems)) is not None:
            return hit
    else:
        errors.append("downloading was turned off (download=False)")
    raise FileNotFoundError(_not_found_message(fn, title, folder, stems, looked, errors))


def _not_found_message(fn, title, folder, stems, looked, errors) -> str:
    names = ", ".join(s + ".gz" for s in stems)
    alt = " or ".join(_candidates(stems[0])[1:3])
    msg = (f"{fn}: {title} files not found. Expected {names} in one folder "
           f"(un-gzipped names such as {alt} also work). Looked in: {'; '.join(looked)}. ")
    if errors:
        msg += "Download failed: " + "; ".join(errors) + ". "
    msg += (f"Provide the files in one of three ways: (1) pass root='/path/to/folder' to {fn}(); "
            f"(2) set the environment variable {_download.ENV_VAR}=/path, with the files in "
            f"${_download.ENV_VAR}/{folder}/ or directly in ${_download.ENV_VAR}/; "
            f"(3) put them in the user cache folder {_download.cache_dir(folder)} "
            f"(done automatically when this machine is online).")
    return msg


def load_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike,
                  num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read an images IDX file (N, H, W) uint8 and its labels IDX file (N,), check they belong together.

    Returns (images, labels): images are the read-only array from :func:`read_idx`, labels a new int64 array.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"load_idx_pair: {images_path} holds {images.dtype} data of shape {images.shape}, "
                         f"expected uint8 images (N, H, W)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"load_idx_pair: {labels_path} holds {labels.dtype} data of shape {labels.shape}, "
                         f"expected integer labels (N,)")
    if len(images) != len(labels):
        raise ValueError(f"load_idx_pair: {images_path} has {len(images)} images but {labels_path} has "
                         f"{len(labels)} labels")
    labels = labels.astype(np.int64)
    if num_classes is not None and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"load_idx_pair: {labels_path} has labels {labels.min()}..{labels.max()}, "
                         f"expected 0..{num_classes - 1}")
    return images, labels


def _load(fn, title, folder, split, root, download, mirrors, default_mirrors, sha256):
    stems = _split_stems(fn, split)
    if mirrors is None:
        mirrors = default_mirrors
    elif isinstance(mirrors, (str, os.PathLike)):
        mirrors = [str(mirrors)]
    img, lbl = _locate(fn, title, folder, stems, root, download, list(mirrors), sha256)
    return load_idx_pair(img, lbl, num_classes=10)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = True,
               mirrors: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits: (images uint8 (N, 28, 28) read-only, labels int64 (N,)); N = 60000 train / 10000 test.

    Looks for the files in ``root`` (and ``root/mnist``) if given -- and only there; otherwise in
    ``$TINYGRAD_NP_DATA/mnist``, ``$TINYGRAD_NP_DATA``, then ``~/.cache/tinygrad_np/mnist`` (XDG_CACHE_HOME
    respected); if still missing and ``download`` is true, downloads them into that cache from ``mirrors``
    (default :data:`MNIST_MIRRORS`), checking sha256.
    """
    return _load("load_mnist", "MNIST", "mnist", split, root, download, mirrors, MNIST_MIRRORS, MNIST_SHA256)


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = True,
                       mirrors: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST, same layout and lookup as :func:`load_mnist` (folder name ``fashion-mnist``).

    Class names are in :data:`FASHION_MNIST_CLASSES`.
    """
    return _load("load_fashion_mnist", "Fashion-MNIST", "fashion-mnist", split, root, download, mirrors,
                 FASHION_MNIST_MIRRORS, FASHION_MNIST_SHA256)
