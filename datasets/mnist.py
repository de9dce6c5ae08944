"""MNIST and Fashion-MNIST: find the IDX files (argument, $TINYGRAD_NP_DATA, user cache) or download them."""
from __future__ import annotations

import hashlib
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
# sha256 of the same files un-gzipped, so a folder of raw IDX files is recognised too
MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FASHION_MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_KNOWN = {"mnist": (MNIST_SHA256, MNIST_RAW_SHA256), "fashion-mnist": (FASHION_MNIST_SHA256, FASHION_MNIST_RAW_SHA256)}
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
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
    msg += (f"Provide the files in one of three ways: (1) pass root='/path/to/folder' to {fn}() "
            f"(python -m models: --data /path/to/folder); "
            f"(2) set the environment variable {_download.ENV_VAR}=/path, with the files in "
            f"${_download.ENV_VAR}/{folder}/ or directly in ${_download.ENV_VAR}/; "
            f"(3) put them in the user cache folder {_download.cache_dir(folder)} "
            f"(done automatically when this machine is online).")
    return msg


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def identify_file(path: str | os.PathLike) -> str | None:
    """"mnist" or "fashion-mnist" when the file is one of that set's original files (by sha256 of the file,
    gzipped or not), None for any other file (a set of your own in the same format)."""
    digest = _sha256(Path(path))
    for name, tables in _KNOWN.items():
        if any(digest in t.values() for t in tables):
            return name
    return None


def identify_mnist(root: str | os.PathLike, split: str = "train") -> str | None:
    """Which of the two sets the IDX files of `split` in folder `root` (or root/mnist, root/fashion-mnist) are:
    "mnist", "fashion-mnist", or None when they are not the original files of either (or are missing).
    The labels file decides (60 KB to hash); the images are checked when the data is loaded."""
    stems = _split_stems("identify_mnist", split)
    r = Path(root).expanduser()
    for d in (r, r / "mnist", r / "fashion-mnist"):
        if d.is_dir() and (hit := _find_in(d, stems)) is not None:
            return identify_file(hit[1])
    return None


def _check_identity(fn: str, expected: str, paths: Sequence[Path]) -> None:
    """Refuse the original files of the other set: Fashion-MNIST read as digits (or the reverse) trains and
    scores without any error, and every number it gives is meaningless."""
    for p in paths:
        found = identify_file(p)
        if found is not None and found != expected:
            other = "load_fashion_mnist" if found == "fashion-mnist" else "load_mnist"
            raise ValueError(f"{fn}: {p} is the {_TITLES[found]} file, not {_TITLES[expected]} (identified by its "
                             f"sha256); read it with {other}() (python -m models: --dataset {found})")


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


def _load(fn, dataset, split, root, download, mirrors):
    img, lbl = mnist_files(dataset, split, root, download=download, mirrors=mirrors)
    _check_identity(fn, dataset, (lbl, img))
    return load_idx_pair(img, lbl, num_classes=10)


def mnist_files(dataset: str = "mnist", split: str = "train", root: str | os.PathLike | None = None, *,
                download: bool = True, mirrors: str | Sequence[str] | None = None) -> tuple[Path, Path]:
    """(images file, labels file) of `split` of "mnist" or "fashion-mnist", found (or downloaded) exactly as
    :func:`load_mnist` / :func:`load_fashion_mnist` find them; nothing is read."""
    if dataset not in _KNOWN:
        raise ValueError(f"mnist_files: dataset must be 'mnist' or 'fashion-mnist', got {dataset!r}")
    fn = "load_mnist" if dataset == "mnist" else "load_fashion_mnist"
    default = MNIST_MIRRORS if dataset == "mnist" else FASHION_MNIST_MIRRORS
    mirrors = default if mirrors is None else [str(mirrors)] if isinstance(mirrors, (str, os.PathLike)) else mirrors
    img, lbl = _locate(fn, _TITLES[dataset], dataset, _split_stems(fn, split), root, download, list(mirrors),
                       _KNOWN[dataset][0])
    return img, lbl


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = True,
               mirrors: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits: (images uint8 (N, 28, 28) read-only, labels int64 (N,)); N = 60000 train / 10000 test.

    Looks for the files in ``root`` (and ``root/mnist``) if given -- and only there; otherwise in
    ``$TINYGRAD_NP_DATA/mnist``, ``$TINYGRAD_NP_DATA``, then ``~/.cache/tinygrad_np/mnist`` (XDG_CACHE_HOME
    respected); if still missing and ``download`` is true, downloads them into that cache from ``mirrors``
    (default :data:`MNIST_MIRRORS`), checking sha256.
    """
    return _load("load_mnist", "mnist", split, root, download, mirrors)


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = True,
                       mirrors: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST, same layout and lookup as :func:`load_mnist` (folder name ``fashion-mnist``).

    Class names are in :data:`FASHION_MNIST_CLASSES`.
    """
    return _load("load_fashion_mnist", "fashion-mnist", split, root, download, mirrors)
