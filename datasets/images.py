"""Folders of photos -> uint8 arrays: class sub-folders or labels from file names, Pillow decoding, a cache."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageOps

from . import _download

LabelFn = Callable[[str], Optional[str]]
_MAX_NAMED = 20  # skipped files named in the warning; the rest are counted
MAX_PIXELS = 40_000_000  # larger images are skipped, checked from the header before any pixel is decoded


@dataclass
class ImageDataset:
    """Decoded images with labels. Unpacks as ``X, y, classes = load_image_folder(...)``.

    images: uint8 (N, h, w) for mode "L", (N, h, w, 3) for "RGB"; labels: int64 (N,), indices into ``classes``;
    files: paths relative to the root, same order as ``images``; skipped: (relative path, reason) pairs.
    """
    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator:
        return iter((self.images, self.labels, self.classes))

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (f"ImageDataset(images={self.images.dtype}{self.images.shape}, classes={self.classes}, "
                f"counts={np.bincount(self.labels, minlength=len(self.classes)).tolist()}, "
                f"skipped={len(self.skipped)})")


def prefix_labels(prefixes: Sequence[str], case_sensitive: bool = False) -> LabelFn:
    """Label function for ``load_image_folder(labels=...)``: the class is the file-name prefix.

    ``prefix_labels(("noncat", "cat"))`` maps ``cat12.png`` -> "cat", ``noncat3.jpg`` -> "noncat" and anything
    else -> None (skipped). The longest matching prefix wins, so "noncat..." is never taken for a "non..." class
    or the like.
    """
    if isinstance(prefixes, str):
        raise TypeError(f"prefix_labels: expected a sequence of prefixes, got the single string {prefixes!r}")
    names = list(prefixes)
    if not names or any(not isinstance(p, str) or not p for p in names):
        raise ValueError(f"prefix_labels: prefixes must be non-empty strings, got {names!r}")
    keyed = [(p if case_sensitive else p.lower(), p) for p in names]
    if len({k for k, _ in keyed}) != len(keyed):
        raise ValueError(f"prefix_labels: duplicate prefixes in {names!r}")
    keyed.sort(key=lambda kp: len(kp[0]), reverse=True)

    def label(filename: str) -> Optional[str]:
        key = filename if case_sensitive else filename.lower()
        return next((p for k, p in keyed if key.startswith(k)), None)

    label.__qualname__ = label.__name__ = f"prefix_labels({names!r})"
    return label


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _files_under(folder: Path, root: Path) -> list[Path]:
    """Files below ``folder``, and symbolic links (even dangling ones: they are skipped by name, later)."""
    return sorted(p for p in folder.rglob("*")
                  if (p.is_file() or p.is_symlink()) and not p.is_dir() and not _hidden(p.relative_to(root)))


def _link_problem(path: Path, root: Path) -> Optional[str]:
    """Why a symbolic link is not read: dangling, or pointing out of the image folder; None if fine."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    if not target.exists():
        return "dangling symbolic link"
    r = root.resolve()
    if target != r and r not in target.parents:
        return f"symbolic link to {target}, outside the image folder"
    return None


def _check_root(fn: str, root: str | os.PathLike) -> Path:
    r = Path(root).expanduser()
    if not r.exists():
        raise FileNotFoundError(f"{fn}: {r} does not exist")
    if not r.is_dir():
        raise NotADirectoryError(f"{fn}: {r} is a file, expected a folder of images")
    return r


def _scan(fn: str, root: Path, labels: Union[str, LabelFn], classes: Optional[Sequence[str]],
          min_classes: int) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """[(path, relative posix path, class name)] sorted by path, and the class list (label i = classes[i])."""
    entries: list[tuple[Path, str, str]] = []
    if labels == "folders":
        subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not subdirs:
            n = sum(1 for p in root.iterdir() if p.is_file())
            raise ValueError(f"{fn}: {root} has no class sub-folders (labels='folders' expects root/<class>/<image>)"
                             + (f"; it has {n} files directly inside: pass labels=prefix_labels(...) or another "
                                f"callable to label them by file name" if n else ""))
        for d in subdirs:
            entries += [(p, p.relative_to(root).as_posix(), d.name) for p in _files_under(d, root)]
    elif callable(labels):
        for p in _files_under(root, root):
            name = labels(p.name)
            if name is None:
                continue
            if not isinstance(name, str):
                raise TypeError(f"{fn}: labels({p.name!r}) returned {name!r}; expected a class name (str) or None")
            entries.append((p, p.relative_to(root).as_posix(), name))
    else:
        raise ValueError(f"{fn}: labels must be 'folders' or a callable filename -> class name or None, "
                         f"got {labels!r}")
    entries.sort(key=lambda e: e[1])
    present = sorted({c for _, _, c in entries})
    if classes is not None:
        wanted = list(classes)
        if isinstance(classes, str) or len(set(wanted)) != len(wanted):
            raise ValueError(f"{fn}: classes must be a sequence of distinct names, got {classes!r}")
        missing = [c for c in wanted if c not in present]
        if missing:
            raise ValueError(f"{fn}: no files for classes {missing} in {root} (found classes {present})")
        entries = [e for e in entries if e[2] in wanted]
        present = wanted
    if not entries:
        raise ValueError(f"{fn}: no image files found in {root}")
    if len(present) < min_classes:
        raise ValueError(f"{fn}: {root} has {len(present)} class{'es' if len(present) != 1 else ''} {present}, "
                         f"a classifier needs at least {min_classes} (pass min_classes=1 to allow this)")
    return entries, present


def _norm_size(fn: str, size) -> Optional[tuple[int, int]]:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = size
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{fn}: size must be (height, width) in pixels or one int, got {size!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"{fn}: size must be positive, got (height, width) = ({h}, {w})")
    return int(h), int(w)


def decode_image(path: str | os.PathLike, size: Optional[tuple[int, int]] = None, mode: str = "RGB") -> np.ndarray:
    """Decode one image file with Pillow: EXIF orientation applied, converted to ``mode``, resized to
    ``size`` = (height, width) only if it differs. Returns uint8 (h, w) or (h, w, 3). Raises OSError if unreadable
    and ValueError if the header declares more than ``MAX_PIXELS`` pixels (checked before decoding). A JPEG much
    larger than ``size`` is decoded at a reduced scale (Pillow's ``draft``) before the final resize.
    """
    with Image.open(path) as im:
        w, h = im.size  # from the header: nothing decoded yet
        if w * h > MAX_PIXELS:
            raise ValueError(f"image is {w}x{h} ({w * h / 1e6:.0f} megapixels), more than MAX_PIXELS = "
                             f"{MAX_PIXELS / 1e6:.0f} megapixels")
        if size is not None and (w >= 2 * size[1] and h >= 2 * size[0]):
            im.draft(mode, (size[1], size[0]))  # JPEG: decode at 1/2, 1/4 or 1/8 scale directly
        im.load()  # decode fully now, so truncated files fail here
        im = ImageOps.exif_transpose(im)
        if im.mode != mode:
            im = im.convert(mode)
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def _cache_file(folder: Path, root: Path, size, mode, entries, stats, classes) -> Path:
    setting = json.dumps([str(root.resolve()), size, mode, classes])
    content = json.dumps([[rel, st, c] for (_, rel, c), st in zip(entries, stats)])
    a = hashlib.sha256(setting.encode()).hexdigest()[:16]
    b = hashlib.sha256(content.encode()).hexdigest()[:16]
    return folder / f"images-{a}-{b}.npz"


def _read_cache(path: Path, classes: list[str]) -> Optional[ImageDataset]:
    try:
        with np.load(path, allow_pickle=False) as z:
            ds = ImageDataset(np.asarray(z["images"]), np.asarray(z["labels"]), z["classes"].tolist(),
                              z["files"].tolist(), list(zip(z["skipped_files"].tolist(),
                                                            z["skipped_reasons"].tolist())))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing or damaged: decode again
    if ds.classes != classes or not (len(ds.images) == len(ds.labels) == len(ds.files)):
        return None
    return ds


def _write_cache(path: Path, ds: ImageDataset) -> None:
    """Atomic: temp file in the cache folder, then os.replace; older caches of the same setting are removed."""
    with _download.atomic_file(path) as f:
        np.savez(f, images=ds.images, labels=ds.labels, classes=np.array(ds.classes, dtype=str),
                 files=np.array(ds.files, dtype=str),
                 skipped_files=np.array([s for s, _ in ds.skipped], dtype=str),
                 skipped_reasons=np.array([r for _, r in ds.skipped], dtype=str))
    stem = path.name.rsplit("-", 1)[0]
    for old in path.parent.glob(stem + "-*.npz"):
        if old != path:
            try:
                old.unlink()
            except OSError:
                pass


def _warn_skipped(root: Path, skipped: list[tuple[str, str]], total: int, from_cache: bool) -> None:
    named = "; ".join(f"{rel} ({why})" for rel, why in skipped[:_MAX_NAMED])
    more = f"; and {len(skipped) - _MAX_NAMED} more" if len(skipped) > _MAX_NAMED else ""
    warnings.warn(f"load_image_folder: skipped {len(skipped)} of {total} files in {root} that could not be read "
                  f"as images{' (remembered in the cache)' if from_cache else ''}: {named}{more}", stacklevel=3)


def load_image_folder(root: str | os.PathLike, size: Union[int, tuple[int, int], None] = None, mode: str = "RGB",
                      labels: Union[str, LabelFn] = "folders", cache: Union[bool, str, os.PathLike] = False, *,
                      classes: Optional[Sequence[str]] = None, min_classes: int = 2) -> ImageDataset:
    """Load every image under ``root`` as uint8 arrays with int64 labels.

    labels="folders": ``root/<class>/**/<image>``; class names are the folder names, sorted.
    labels=callable: called with each file name (no folder), returns the class name or None to skip the file;
    see :func:`prefix_labels`. ``classes`` fixes which classes are used and their order (label i = classes[i]),
    e.g. ``classes=("noncat", "cat")`` for cat = 1; by default all classes found, sorted.
    size=(height, width) resizes (only images of another size); size=None keeps sizes, which must then agree.
    mode="L" gives (N, h, w), mode="RGB" (N, h, w, 3). Hidden files/folders (".name") are ignored.
    Files that cannot be decoded (corrupt, truncated, empty, not an image) are skipped and named in one warning.
    cache=True stores the decoded arrays in ``~/.cache/tinygrad_np/images`` (a path: in that folder); it is
    keyed by root, size, mode, classes and every file's name, size and mtime, so any change re-decodes.
    """
    fn = "load_image_folder"
    size = _norm_size(fn, size)
    if mode not in ("L", "RGB"):
        raise ValueError(f"{fn}: mode must be 'L' (grayscale) or 'RGB', got {mode!r}")
    if not isinstance(min_classes, int) or min_classes < 1:
        raise ValueError(f"{fn}: min_classes must be an int >= 1, got {min_classes!r}")
    root = _check_root(fn, root)
    cache_folder: Optional[Path] = None
    if cache is not False and cache is not None:
        cache_folder = _download.cache_dir("images") if cache is True else Path(cache).expanduser()
        if cache_folder.exists() and not cache_folder.is_dir():
            raise NotADirectoryError(f"{fn}: cache {cache_folder} is a file, expected a folder")
        r, c = root.resolve(), cache_folder.resolve()
        if c == r or r in c.parents:
            raise ValueError(f"{fn}: cache folder {cache_folder} is inside the image folder {root}; choose another")
    entries, class_list = _scan(fn, root, labels, classes, min_classes)

    cache_path = None
    if cache_folder is not None:
        stats = []
        for p, _, _ in entries:
            try:
                st = p.stat()
                stats.append([st.st_size, st.st_mtime_ns])
            except OSError:
                stats.append(None)
        cache_path = _cache_file(cache_folder, root, size, mode, entries, stats, class_list)
        hit = _read_cache(cache_path, class_list)
        if hit is not None:
            if hit.skipped:
                _warn_skipped(root, hit.skipped, len(entries), from_cache=True)
            return hit

    index = {c: i for i, c in enumerate(class_list)}
    arrays: list[np.ndarray] = []
    label_list: list[int] = []
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    first_shape = None
    for path, rel, cls in entries:
        link = _link_problem(path, root)
        if link is not None:
            skipped.append((rel, link))
            continue
        try:
            a = decode_image(path, size, mode)
        except Exception as e:  # noqa: BLE001 - any decoder failure means "not a readable image": skip it
            skipped.append((rel, f"{type(e).__name__}: {str(e).replace(str(path), rel)}".rstrip(": ")))
            continue
        if first_shape is None:
            first_shape = (rel, a.shape)
        elif a.shape != first_shape[1]:
            raise ValueError(f"{fn}: images differ in size: {first_shape[0]} is {first_shape[1][1]}x"
                             f"{first_shape[1][0]} but {rel} is {a.shape[1]}x{a.shape[0]} (width x height); "
                             f"pass size=(height, width) to resize them all")
        arrays.append(a)
        label_list.append(index[cls])
        files.append(rel)
    if skipped:
        _warn_skipped(root, skipped, len(entries), from_cache=False)
    if not arrays:
        raise ValueError(f"{fn}: none of the {len(entries)} files in {root} could be read as an image")
    ds = ImageDataset(np.stack(arrays), np.array(label_list, dtype=np.int64), class_list, files, skipped)
    found = len(set(label_list))
    if found < min_classes:
        raise ValueError(f"{fn}: only {found} class(es) of {class_list} have readable images in {root}; "
                         f"a classifier needs at least {min_classes}")
    if cache_path is not None:
        _write_cache(cache_path, ds)
    return ds


def load_image_splits(root: str | os.PathLike, splits: Sequence[str] = ("train", "test"),
                      **kwargs) -> dict[str, ImageDataset]:
    """Load ``root/<split>/...`` for each split with :func:`load_image_folder` (same keyword arguments).

    All splits share one class list (the union, sorted, unless ``classes=`` is given), so label i means the same
    class in every split.
    """
    fn = "load_image_splits"
    root = _check_root(fn, root)
    for s in splits:
        _check_root(fn, root / s)
    if kwargs.get("classes") is None:
        labels = kwargs.get("labels", "folders")
        names: set[str] = set()
        for s in splits:
            names.update(_scan(fn, root / s, labels, None, 1)[1])
        kwargs["classes"] = sorted(names)
    return {s: load_image_folder(root / s, **kwargs) for s in splits}
