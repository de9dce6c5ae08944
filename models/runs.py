"""Run folders: reserve a fresh one (never overwrite), write weights/meta/metrics, load a run back."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tinygrad_np._files import atomic_write

WEIGHTS, META, METRICS, CHECKPOINT = "weights.npz", "meta.json", "metrics.json", "checkpoint.npz"
FORMAT = 1


def reserve_run_dir(out: Optional[str], name: str) -> tuple[Path, Optional[str]]:
    """Create and return a new, empty run folder; the second value is a note when the name was taken.

    out=None gives runs/<name>. If the folder already exists and is not empty, runs/<name>-2, -3, ... is used
    instead (os.mkdir is atomic, so two trainings started at once never share a folder).
    """
    base = Path(out).expanduser() if out else Path("runs") / name
    if base.exists() and not base.is_dir():
        raise FileExistsError(f"--out {base} is a file, not a folder; choose another --out")
    if base.is_dir() and not any(base.iterdir()):
        return base, None                           # an empty folder is free to use
    base.parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        cand = base if k == 1 else base.with_name(f"{base.name}-{k}")
        try:
            cand.mkdir()
        except FileExistsError:
            continue
        note = None if k == 1 else f"{base} already holds a run; writing this one to {cand} instead"
        return cand, note
    raise FileExistsError(f"could not find a free run folder next to {base}")


def release_if_empty(path: Path) -> None:
    """Remove a reserved run folder again when training failed before writing anything."""
    try:
        path.rmdir()
    except OSError:
        pass


def write_json(path: Path, obj: Any) -> None:
    """Atomic: write to a temp file in the same folder, then rename."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2, default=_jsonable)
        f.write("\n")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (tuple, set)):
        return list(v)
    raise TypeError(f"meta.json: cannot store {type(v).__name__}")


def versions() -> dict:
    import tinygrad_np
    v = {"python": platform.python_version(), "numpy": np.__version__, "tinygrad_np": tinygrad_np.__version__,
         "platform": platform.platform()}
    try:
        import PIL
        v["pillow"] = PIL.__version__
    except ImportError:
        pass
    return v


def read_meta(run: str | Path) -> tuple[Path, dict]:
    run = Path(run).expanduser()
    if not run.is_dir():
        raise FileNotFoundError(f"run folder {run} does not exist")
    meta_path = run / META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{run} is not a run folder: {META} is missing (train one with python -m models "
                                f"train NAME --out {run})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{meta_path} is not valid JSON: {e}") from None
    check_meta(meta, meta_path)
    return run, meta


def check_meta(meta: Any, meta_path: Path) -> None:
    """Every entry evaluate/predict rely on, with its type: a damaged or hand-edited meta.json is one clear
    error naming the file and the entry, never a KeyError or TypeError later on."""
    def bad(key: str, what: str) -> ValueError:
        return ValueError(f"{meta_path}: the {key!r} entry {what}; it was not written by python -m models train "
                          f"(or was edited since)")
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path} holds a JSON {type(meta).__name__}, expected an object")
    for key in ("model", "architecture", "preprocess", "classes", "head", "data"):
        if key not in meta:
            raise bad(key, "is missing")
    fmt = meta.get("format", FORMAT)
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise bad("format", f"must be an integer, got {fmt!r}")
    if fmt > FORMAT:
        raise ValueError(f"{meta_path} has format {fmt}, newer than this code understands ({FORMAT})")
    if not isinstance(meta["model"], str):
        raise bad("model", f"must be a model name, got {meta['model']!r}")
    if meta["head"] not in ("softmax", "sigmoid"):
        raise bad("head", f"must be 'softmax' or 'sigmoid', got {meta['head']!r}")
    classes = meta["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise bad("classes", f"must be a list of at least two class names, got {classes!r}")
    arch = meta["architecture"]
    if not isinstance(arch, dict) or not isinstance(arch.get("input_shape"), list) \
            or not isinstance(arch.get("num_outputs"), int) or not isinstance(arch.get("kwargs", {}), dict):
        raise bad("architecture", "must hold input_shape (a list), num_outputs (an integer) and kwargs")
    want = 1 if meta["head"] == "sigmoid" else len(classes)
    if arch["num_outputs"] != want or (meta["head"] == "sigmoid" and len(classes) != 2):
        raise bad("classes", f"({len(classes)} names) does not fit a {meta['head']} head with "
                             f"{arch['num_outputs']} output(s)")
    pre = meta["preprocess"]
    if not isinstance(pre, dict) or any(k not in pre for k in ("input", "scale", "normalize", "layout")):
        raise bad("preprocess", "must hold input, scale, normalize and layout (mean/std when normalized)")
    if not isinstance(meta["data"], dict) or meta["data"].get("kind") not in ("digits", "mnist", "images"):
        raise bad("data", "must say which data the run was trained on (kind digits, mnist or images)")


def load_weights(model, run: Path) -> None:
    """Load run/weights.npz into model, with an error naming the file and every mismatch (nothing changed)."""
    import tinygrad_np as tg
    path = run / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the run folder has no weights")
    try:
        state = tg.load(path)
    except Exception as e:  # noqa: BLE001 - a damaged archive can fail in many ways
        raise ValueError(f"cannot read weights from {path}: {type(e).__name__}: {e}") from None
    state = _flatten(state)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(np.shape(state[k]))} vs model {expected[k]}"
             for k in sorted(set(expected) & set(state)) if tuple(np.shape(state[k])) != expected[k]]
    if missing or unexpected or wrong:
        parts = ([f"missing keys {missing}"] if missing else []) + \
                ([f"unexpected keys {unexpected}"] if unexpected else []) + \
                ([f"shape mismatches: {'; '.join(wrong)}"] if wrong else [])
        raise ValueError(f"{path} does not match the architecture in {run / META}: " + ", ".join(parts))
    model.load_state_dict(state)


def _flatten(d: Any, prefix: str = "") -> dict:
    """tg.load may return nested dicts for "/"- or "."-joined keys; state_dict keys are "."-joined."""
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def write_checkpoint(run: Path, snap: dict, config: dict) -> Path:
    """run/checkpoint.npz (atomic): the snapshot of the last complete epoch (models.training.snapshot) and the
    train settings, so `train --resume RUN` can rebuild the same model and data and go on."""
    import tinygrad_np as tg
    path = run / CHECKPOINT
    best = snap.get("best")
    state = {"model": snap["model"], "optimizer": snap["optimizer"], "scheduler": snap["scheduler"],
             "json": json.dumps({"format": FORMAT, "epoch": snap["epoch"], "history": snap["history"],
                                 "rng": snap["rng"], "config": config,
                                 "best": None if best is None else {"epoch": best["epoch"], "loss": best["loss"]}},
                                default=_jsonable)}
    if best is not None:
        state["best_model"] = best["model"]
    tg.save(state, path)
    return path


def read_checkpoint(run: str | Path) -> tuple[Path, dict, dict]:
    """(run path, snapshot for models.training.fit(resume=...), train settings) from run/checkpoint.npz."""
    import tinygrad_np as tg
    run = Path(run).expanduser()
    path = run / CHECKPOINT
    if not run.is_dir():
        raise FileNotFoundError(f"--resume {run}: no such run folder")
    if not path.is_file():
        raise FileNotFoundError(f"--resume {run}: there is no {CHECKPOINT} in it (a run keeps one from its first "
                                f"complete epoch on)")
    try:
        state = tg.load(path)
        info = json.loads(state["json"])
        best = info["best"]
        snap = {"model": _flatten(state["model"]), "optimizer": _int_keys(state["optimizer"]),
                "scheduler": state.get("scheduler") or {}, "rng": info["rng"], "epoch": int(info["epoch"]),
                "history": info["history"],
                "best": None if best is None else {**best, "model": _flatten(state["best_model"])}}
        config = info["config"]
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise ValueError(f"cannot resume from {path}: {type(e).__name__}: {e}") from None
    return run, snap, config


def _int_keys(opt_state: dict) -> dict:
    """tg.load gives the optimizer's per-parameter state keys as strings; state_dict() uses indices."""
    return {**opt_state, "state": {int(k): v for k, v in (opt_state.get("state") or {}).items()}}


def describe_command() -> str:
    return " ".join([Path(sys.executable).name, "-m", "models", *sys.argv[1:]])
