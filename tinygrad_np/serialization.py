"""`tg.save` / `tg.load`: state dicts and checkpoints as one `.npz`, never pickle.

Layout: every array (and every scalar, as a 0-d array) is one member of the zip, named by its path of
dict keys / list positions joined with '/': `{"model": {"0.weight": w}, "epoch": 3}` gives members
`model/0.weight` and `epoch`, so plain `np.load(path)` can read the file too. One extra member,
`__tinygrad_np__`, holds a JSON description of the nesting (dict vs list vs tuple, int vs str keys,
Python scalars vs arrays, None) so `load` returns exactly the structure that was saved. A '/' inside a
key is refused rather than escaped: the file stays readable by hand.

Writing goes through `_files.atomic_write` (a temp file in the destination folder, flushed to disk, then
renamed over the target with `os.replace`): a crash mid-write leaves any previous file intact.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Union

import numpy as np

from ._files import atomic_write
from .tensor import Tensor

MANIFEST = "__tinygrad_np__"
_SCALARS = (bool, int, float, str, np.bool_, np.integer, np.floating, np.str_)
PathLike = Union[str, "os.PathLike[str]"]


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key


def _encode(obj: Any, path: str, members: dict) -> Any:
    """Fill `members` (name → ndarray) and return the JSON description of `obj`."""
    where = f"'{path}'" if path else "the top level"
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (str, int, np.integer)):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} at {where}")
            if isinstance(k, str) and ("/" in k or not k or k == MANIFEST):
                raise ValueError(f"save: key {k!r} at {where} is empty, reserved or contains '/', which "
                                 "save uses to join nested keys; rename it")
            items.append([k if isinstance(k, str) else int(k), _encode(v, _join(path, str(k)), members)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_encode(v, _join(path, str(i)), members) for i, v in enumerate(obj)]}
    if obj is None:
        return {"none": None}
    name = path or "value"
    if name in members:
        raise ValueError(f"save: two entries map to the same key '{name}' (e.g. an int key and the same "
                         "number as a str key)")
    if isinstance(obj, _SCALARS):
        arr = np.asarray(obj)
        if arr.dtype.kind == "O":
            raise ValueError(f"save: the integer at {where} does not fit in int64")
        members[name] = arr
        return {"scalar": name}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__array__"):
        arr = np.asarray(obj)
        if arr.dtype.hasobject:
            raise TypeError(f"save: the array at {where} has dtype object, which cannot be stored without "
                            "pickle; convert it to a numeric or string dtype")
        members[name] = arr
        return {"array": name}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {where}; save stores nested dicts, "
                    "lists and tuples of arrays, Tensors, numbers, strings, bools and None")


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` (typically a state dict, or a dict of them plus metadata) to `path` atomically."""
    path = os.fspath(path)
    members: dict = {}
    tree = _encode(obj, "", members)
    members[MANIFEST] = np.array(json.dumps({"format": 1, "tree": tree}))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder} does not exist (while saving {path})")
    with atomic_write(path, "wb") as f:
        _write_npz(f, members)


def _write_npz(f: Any, members: dict) -> None:
    """What np.savez does, minus its keyword-argument names ('file', 'allow_pickle') clashing with ours."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in members.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def load(path: PathLike) -> Any:
    """Read a file written by `save` (or any .npz of plain arrays) without unpickling anything:
    nested dicts of ndarrays, with metadata back as Python scalars and strings."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: {path} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a folder, not an .npz file")
    if not os.path.isfile(path):             # a FIFO or a device: reading it would block or never end
        raise ValueError(f"load: {path} is not a regular file (a pipe, socket or device?)")
    with open(path, "rb") as f:
        head = f.read(6)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):   # a zip's first local header, or an empty zip
        hint = " (it is a single .npy array; use np.load)" if head.startswith(b"\x93NUMPY") else ""
        raise ValueError(f"load: {path} is not an .npz file: it does not start with a zip header{hint}")
    members, key = {}, None
    try:
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                members[key] = z[key]
                if not isinstance(members[key], np.ndarray):      # a zip member that is not a .npy array
                    raise _NotAnArray(key)
    except _NotAnArray as e:
        raise ValueError(f"load: {path} is a zip file but its member '{e}' is not a NumPy array; "
                         "is it really an .npz file?") from None
    except ValueError as e:
        if key is not None and ("pickle" in str(e) or "Object arrays" in str(e)):
            raise ValueError(f"load: {path} holds an object array at key '{key}', which can only be read by "
                             "unpickling; tg.load never unpickles (allow_pickle=False)") from None
        raise ValueError(f"load: {path} is truncated or corrupt ({e})") from e
    except Exception as e:  # zipfile.BadZipFile, EOFError, OSError, struct and zlib errors
        raise ValueError(f"load: {path} is truncated or corrupt ({type(e).__name__}: {e})") from e
    if MANIFEST not in members:
        return _unflatten(members, path)
    try:
        tree = json.loads(str(members.pop(MANIFEST)))["tree"]
        return _decode(tree, members)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:   # e.g. a list item not a dict
        raise ValueError(f"load: {path} has a damaged structure description ({type(e).__name__}: {e})") from None
    except RecursionError:                   # a description nested thousands deep: no state dict is
        raise ValueError(f"load: {path} has a damaged structure description (nested too deeply)") from None


class _NotAnArray(Exception):
    pass


def _decode(node: dict, members: dict) -> Any:
    (kind, value), = node.items()
    if kind == "dict":
        return {k: _decode(v, members) for k, v in value}
    if kind == "list":
        return [_decode(v, members) for v in value]
    if kind == "tuple":
        return tuple(_decode(v, members) for v in value)
    if kind == "none":
        return None
    if kind == "scalar":
        return members[value].item()
    if kind == "array":
        return members[value]
    raise ValueError(f"unknown entry kind {kind!r}")


def _unflatten(members: dict, path: str) -> dict:
    """A plain .npz (no structure description): split member names on '/' into nested dicts."""
    root: dict = {}
    for name, arr in members.items():
        *parents, leaf = name.split("/")
        node = root
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"load: {path}: key '{name}' nests under an array")
        if leaf in node:
            raise ValueError(f"load: {path}: key '{name}' is both an array and a folder of keys")
        node[leaf] = arr
    return root
