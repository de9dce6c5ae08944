"""python -m models list | train NAME | evaluate RUN_DIR | predict RUN_DIR IMAGE... | backprop NAME

The commands and how their errors are reported (a user error: one line and exit code 2; Ctrl-C: 130); the
flags and the checks on their values are models/arguments.py.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from . import backprop
from .arguments import build_parser
from .registry import MODELS, ModelSpec, data_dict, get_spec, recipe_dict

USER_ERRORS = (ValueError, TypeError, OSError, FloatingPointError)    # OSError: disk full, quota, permissions
CHECKPOINT_SECONDS = 5.0        # the longest stretch of training a crash (not Ctrl-C) can lose


def cmd_list() -> int:
    rows = [("model", "seed", "architecture", "default data", "default recipe")]
    for s in MODELS.values():
        rows.append((s.name, s.seed_doc, s.architecture, s.data.default_data, s.recipe.summary()))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for i, (name, seed, arch, data, recipe) in enumerate(rows):
        if i == 0:
            continue
        print(f"{name:<{widths[0]}}  seed document {seed:<3}  {arch}")
        print(f"{'':<{widths[0]}}  data: {data}")
        print(f"{'':<{widths[0]}}  recipe: {recipe}\n")
    print("train one: python -m models train NAME [--epochs N --lr X --optimizer adam --seed S --out DIR]")
    return 0


# The train settings a run records (checkpoint.npz) so that --resume rebuilds exactly the same model and data.
TRAIN_SETTINGS = ("name", "data", "dataset", "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
                  "schedule", "val_fraction", "patience", "seed", "hidden", "digits", "classes")


def _spec_for_train(a: argparse.Namespace) -> tuple[ModelSpec, dict, Optional[str]]:
    """The model's registry entry with the flags applied, its builder arguments, and a note for the user."""
    spec = get_spec(a.name)
    arch = dict(spec.arch)
    if a.hidden is not None:
        if "hidden" not in arch:
            raise ValueError(f"--hidden: {spec.name} has no configurable hidden layers")
        if any(h < 1 for h in a.hidden):
            raise ValueError(f"--hidden: layer sizes must be >= 1, got {list(a.hidden)}")
        arch["hidden"] = tuple(a.hidden)
    r, note = spec.recipe, None
    if a.optimizer is not None and a.optimizer != r.optimizer:
        # another optimizer: its plain form, as in PyTorch (the recipe's extras were tuned for the other one)
        dropped = [k for k, v in (("momentum", r.momentum), ("weight decay", r.weight_decay),
                                  ("schedule", r.schedule)) if v]
        r = replace(r, optimizer=a.optimizer, momentum=0.0, weight_decay=0.0, schedule=None)
        if dropped:
            note = (f"--optimizer {a.optimizer}: the {spec.recipe.optimizer} recipe's {', '.join(dropped)} not "
                    f"used (set them with --momentum, --weight-decay, --schedule)")
    changes = {"epochs": a.epochs, "lr": a.lr, "seed": a.seed, "momentum": a.momentum,
               "weight_decay": a.weight_decay, "val_fraction": a.val_fraction}
    r = replace(r, **{k: v for k, v in changes.items() if v is not None})
    if a.schedule is not None:
        r = replace(r, schedule=None if a.schedule == "none" else a.schedule)
    if a.batch_size is not None:                     # 0 stands for "full": batch_size None
        r = replace(r, batch_size=a.batch_size or None)
    if r.momentum and r.optimizer != "sgd":
        raise ValueError(f"--momentum applies to SGD; {spec.name} trains with {r.optimizer} (add --optimizer sgd)")
    return replace(spec, recipe=r), arch, note


def _extras_note() -> Optional[str]:
    """One line on what this installation skips (pictures, progress bar) and how to get it."""
    from . import plots
    from .progress import _tqdm
    missing = [what for what, ok in (("the pictures (matplotlib)", plots.available()),
                                     ("the progress bar (tqdm)", _tqdm() is not None)) if not ok]
    if not missing:
        return None
    return f"skipping {' and '.join(missing)}: pip install -e \".[plot,progress]\" to get them"


def cmd_train(a: argparse.Namespace) -> int:
    from tinygrad_np.allocator import keep_freed_memory
    from .runs import read_checkpoint
    keep_freed_memory()        # a training loop reuses the same large arrays every step: no page-fault churn
    if a.resume is not None:
        given = [k for k in TRAIN_SETTINGS + ("out",) if getattr(a, k) is not None]
        if given:
            raise ValueError(f"--resume continues a run with its own settings; leave out {', '.join(given)}")
        run, snap, config = read_checkpoint(a.resume)
        a = argparse.Namespace(**{k: config.get(k) for k in TRAIN_SETTINGS}, resume=a.resume, out=None,
                               eager=a.eager, compiled=a.compiled)
        for k in ("hidden", "digits"):
            if a.__dict__[k] is not None:
                a.__dict__[k] = tuple(a.__dict__[k])
        if (run / "meta.json").is_file():
            raise ValueError(f"--resume {run}: this run is complete ({snap['epoch']} epochs); train a new one")
        return _train(a, run, snap)
    if a.name is None:
        raise ValueError("train: name a model (python -m models list shows them), or --resume RUN_DIR")
    return _train(a, None, None)


def _train(a: argparse.Namespace, run: Optional[Path], resume: Optional[dict]) -> int:
    """Train (or with `resume`, continue in the run folder `run`); a new run's folder is made only once the
    flags, the data and the model are known to be good."""
    import tinygrad_np as tg
    from . import plots
    from .data import load_source, prepare
    from .nets import describe
    from .report import format_report, summarize
    from .runs import (CHECKPOINT, METRICS, META, WEIGHTS, describe_command, release_if_empty, reserve_run_dir,
                       versions, write_checkpoint, write_json)
    from .training import compiles_by_default, fit, mean_loss, predict

    config = {k: getattr(a, k) for k in TRAIN_SETTINGS}
    state = {"saved": 0 if resume is None else resume["epoch"], "pending": None, "written_at": time.monotonic()}
    written: list[Path] = []

    def save_pending() -> None:
        if state["pending"] is not None:
            with _writing(run / CHECKPOINT):
                write_checkpoint(run, state["pending"], config)
            state["saved"] = state["pending"]["epoch"]
            state["pending"], state["written_at"] = None, time.monotonic()

    def on_epoch(snap: dict) -> None:
        """Every epoch's state is kept in memory; on disk at most every CHECKPOINT_SECONDS (a 2500-epoch run
        of 7 ms epochs would otherwise spend most of its time writing), at the end and on Ctrl-C."""
        state["pending"] = snap
        if time.monotonic() - state["written_at"] >= CHECKPOINT_SECONDS or snap["epoch"] == spec.recipe.epochs:
            save_pending()

    note = None
    try:
        spec, arch, recipe_note = _spec_for_train(a)
        r = spec.recipe
        if a.digits is not None and len(a.digits) != 2 and spec.head == "sigmoid":
            raise ValueError(f"--digits: {spec.name} needs exactly two digits, got {list(a.digits)}")
        classes = [c.strip() for c in a.classes.split(",")] if a.classes else None
        if classes is not None and spec.data.kind != "images":
            raise ValueError(f"--classes applies to photo folders; {spec.name} reads {spec.data.kind}"
                             + (" (pick MNIST classes with --digits)" if spec.data.kind == "mnist" else ""))
        raw = load_source(spec, a.data, a.dataset, a.digits, classes, r.split_seed)
        data = prepare(spec, raw)
        tg.manual_seed(r.seed)
        num_outputs = 1 if spec.head == "sigmoid" else len(data.classes)
        input_shape = list(data.X_train.shape[1:])
        model = spec.build(input_shape=input_shape, num_outputs=num_outputs, **arch)
        architecture = describe(spec.plan(input_shape=input_shape, num_outputs=num_outputs, **arch), spec.head)
        n_params = sum(p.numel() for p in model.parameters())
        if run is None:
            run, note = reserve_run_dir(a.out, spec.name)
        src = data.source
        where = src.get("path") or f"{src.get('dataset')} (loader default location)"
        print(f"{spec.name} (seed document {spec.seed_doc}): {architecture}; {n_params:,} parameters")
        print(f"data: {where}: {src['n_train']} train / {src['n_val']} val / {src['n_test']} test, "
              f"classes {data.classes}")
        compiled = a.compiled or (not a.eager and compiles_by_default(spec))
        print(f"recipe: {r.summary()}; seed {r.seed}" + (f"; early stopping, patience {a.patience}"
                                                         if a.patience else "")
              + ("; compiled steps (tg.compile)" if compiled else "; eager steps"))
        for line in (note, recipe_note, raw.note, _extras_note()):
            if line:
                print(f"note: {line}")
        if resume is not None:
            print(f"resuming after epoch {resume['epoch']}/{r.epochs}")
        print(f"run folder: {run}")
        t0 = time.perf_counter()
        history = fit(model, spec, data, on_epoch=on_epoch, resume=resume, patience=a.patience,
                      compiled=compiled)
        total = time.perf_counter() - t0 + (sum(h["seconds"] for h in resume["history"]) if resume else 0.0)
        pred, probs, logits = predict(model, data.X_test, spec.head)
        test = summarize(data.y_test, pred, data.classes, mean_loss(logits, data.y_test, spec.head))
        print()
        print(format_report(test, data.classes))
        per_epoch = float(np.mean([h["seconds"] for h in history]))
        last = history[-1]
        metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_macro_f1": test["macro_f1"],
                   "train_accuracy_last_epoch": last["train_acc"], "train_loss_last_epoch": last["train_loss"],
                   "val_accuracy": last.get("val_acc"), "epochs_run": len(history),
                   "seconds_per_epoch": per_epoch, "total_seconds": total}
        meta = {"format": 1, "model": spec.name, "seed_doc": spec.seed_doc,
                "architecture": {"description": architecture, "input_shape": input_shape,
                                 "num_outputs": num_outputs, "kwargs": arch, "parameters": n_params,
                                 "modules": repr(model)},
                "head": spec.head, "classes": data.classes, "preprocess": data.preprocess.to_dict(),
                "data": src, "data_spec": data_dict(spec.data), "recipe": recipe_dict(r), "seed": r.seed,
                "train_settings": config, "metrics": metrics, "versions": versions(),
                "command": describe_command(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        # meta.json last: a folder with a meta.json is a complete run
        with _writing(run / WEIGHTS):
            tg.save(model.state_dict(), run / WEIGHTS)
        written.append(run / WEIGHTS)
        with _writing(run / METRICS):
            write_json(run / METRICS, {"history": history, "test": test, "classes": data.classes, **metrics})
        written.append(run / METRICS)
        with _writing(run / "the pictures"):
            figures = plots.save_all(run, history, test, data.classes, data.raw_test, data.y_test, probs)
        written += [run / f for f in figures]
        with _writing(run / META):
            write_json(run / META, meta)
    except KeyboardInterrupt:
        _remove(written)
        if run is not None:
            save_pending()
        if run is None or state["saved"] == 0:
            if run is not None:
                release_if_empty(run)
            print("\ninterrupted before the first epoch ended; nothing was kept", file=sys.stderr)
        else:
            print(f"\ninterrupted: {run / CHECKPOINT} keeps epoch {state['saved']}; continue with: "
                  f"python -m models train --resume {run}", file=sys.stderr)
        return 130
    except BaseException:
        _remove(written)           # nothing half-written: a run is complete or has only its checkpoint
        if run is not None:
            try:
                save_pending()
            except OSError:
                pass                    # the disk that failed may fail again: the older checkpoint stays
            if state["saved"] == 0:
                release_if_empty(run)
            else:
                print(f"note: {run / CHECKPOINT} keeps epoch {state['saved']}; once the problem is fixed, "
                      f"python -m models train --resume {run} continues", file=sys.stderr)
        raise
    print(f"\ntest accuracy {test['accuracy']:.2%}; {per_epoch:.3f} s per epoch, {total:.1f} s in all")
    print(f"run folder: {run}")
    print(f"  weights:  {run / WEIGHTS}  (meta.json, metrics.json and {CHECKPOINT} beside them)")
    for f in figures:
        print(f"  picture:  {run / f}")
    if not figures:
        print("  no pictures: matplotlib is not installed (pip install -e \".[plot]\")")
    print(f"next: python -m models evaluate {run}   |   python -m models predict {run} IMAGE...")
    return 0


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An OSError while writing `path` (disk full, quota: often without a file name) names the file."""
    try:
        yield
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}") from None


def _remove(paths: Sequence[Path]) -> None:
    for p in paths:
        try:
            p.unlink()
        except OSError:
            pass


def load_run(run_dir: str):
    """(run path, meta, spec, model with its weights, Preprocess); kept for old callers, use models.load_run."""
    from .api import load_run as _load
    r = _load(run_dir)
    return r.path, r.meta, r.spec, r.model, r.preprocess


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .api import load_run as _load
    from .report import format_report
    run = _load(a.run)
    test = run.evaluate(a.data)
    print(f"{run.meta['model']} from {run.path} on {test['data']} (test split)")
    print(format_report(test, run.classes))
    recorded = run.meta.get("metrics", {}).get("test_accuracy")
    if isinstance(recorded, (int, float)):
        print(f"\ntest accuracy {test['accuracy']:.2%} (recorded at training: {recorded:.2%})")
    return 0


def cmd_predict(a: argparse.Namespace) -> int:
    from .api import load_run as _load
    run = _load(a.run)
    failed = 0
    for p in run.predict_files(a.images):
        if p.error is not None:
            print(f"python -m models predict: error: {p.error}", file=sys.stderr)
            failed += 1
            continue
        order = np.argsort(-p.probabilities)
        others = ", ".join(f"{run.classes[k]} {p.probabilities[k]:.1%}" for k in order[1:3])
        print(f"{p.path}: {p.name} ({p.probability:.1%})" + (f"   next: {others}" if others else ""))
    return 2 if failed else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None) is not None:
        import tinygrad_np
        tinygrad_np.set_num_threads(args.threads)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "train":
            return cmd_train(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "backprop":
            print(backprop.step_source(get_spec(args.name), args.batch_size, args.optimizer), end="")
            return 0
        return cmd_predict(args)
    except USER_ERRORS as e:
        print(f"python -m models {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
