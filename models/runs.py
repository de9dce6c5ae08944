"""Run folders: reserve a fresh one (never overwrite), write weights/meta/metrics, load a run back."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tinygrad_np._files import atomic_write

WEIGHTS, META, METRICS = "weights.npz", "meta.json", "metrics.json"
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
    for key in ("model", "architecture", "preprocess", "classes", "head"):
        if key not in meta:
            raise ValueError(f"{meta_path} has no {key!r} entry; it was not written by python -m models train")
    if meta.get("format", FORMAT) > FORMAT:
        raise ValueError(f"{meta_path} has format {meta['format']}, newer than this code understands ({FORMAT})")
    return run, meta


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


def describe_command() -> str:
    return " ".join([Path(sys.executable).name, "-m", "models", *sys.argv[1:]])
