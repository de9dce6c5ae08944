"""python -m benchmarks [--quick] [--threads 1,2] [--only NAME[,NAME]] [--loaded] [--json PATH] [--plot PATH]

Run from the checkout. First a gradient check (tinygrad_np, and PyTorch when installed, against the hand-written
baseline, every model), then the timings, one worker process per framework and thread count;
with --loaded (or --only loaded,...) also the training steps under a competing load (benchmarks/loaded.py).
Exit status: 0 on success, 1 if the gradient check failed (nothing is timed then), 2 if a
benchmark raised an error (reported in the tables and the JSON).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

from tinygrad_np._files import atomic_write

from . import loaded, report, runner, specs
from .machine import TORCH_HINT, git_info, machine_info, torch_installed


def _threads(text: str) -> List[int]:
    try:
        out = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads: expected comma-separated integers, got {text!r}") from None
    if not out or out[0] < 1:
        raise argparse.ArgumentTypeError(f"--threads: thread counts must be >= 1, got {text!r}")
    return out


def parse(argv: Any = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: gradient check + a few short repeats (< 1 min); timings not meaningful")
    p.add_argument("--threads", type=_threads, default=None,
                   help="comma-separated BLAS/PyTorch thread counts (default: 1 and all usable cores; "
                        "--quick: 1)")
    p.add_argument("--only", default=None,
                   help="comma-separated subset: a model (mnist_mlp), a model/batch (digits_mlp/32), a layer "
                        "(conv1), a section (train, layers, overhead, optim, matmul, loaded, compiled), add, add_grad, chain, "
                        "sgd. With 'loaded', only the loaded-machine run, of the models named (default: all). "
                        "The gradient check always covers every model.")
    p.add_argument("--loaded", action="store_true",
                   help="also time the training steps with one competing CPU-bound process per usable core "
                        "(started and stopped by the benchmark) and report loaded ÷ quiet")
    p.add_argument("--json", metavar="PATH", help="write every number, the machine and the versions here")
    p.add_argument("--plot", metavar="PATH", help="bar chart (PNG) of the ratios, if matplotlib is installed")
    args = p.parse_args(argv)
    if args.only is not None:
        args.only = [t.strip() for t in args.only.split(",") if t.strip()]
        known = ({"train", "layer", "layers", "overhead", "optim", "matmul", "peak", "add", "add_grad", "chain",
                  "sgd", "loaded", "compiled"} | {m.name for m in specs.MODELS} | set(specs.LAYERS)
                 | {f"{m}/{b}" for m, b in specs.train_items()})
        bad = [t for t in args.only if t not in known]
        if bad:
            p.error(f"--only: unknown name(s) {bad}; known: {sorted(known)}")
    return args


def main(argv: Any = None) -> int:
    args = parse(argv)
    machine = machine_info()
    threads = args.threads or ([1] if args.quick else sorted({1, machine["usable_cores"] or 1}))
    settings = runner.QUICK if args.quick else runner.FULL
    log = lambda msg: print(msg, file=sys.stderr, flush=True)   # noqa: E731  progress on stderr
    t0 = time.perf_counter()
    run: Dict[str, Any] = {
        "schema": 1, "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "quick": args.quick,
        "machine": machine, "git": git_info(), "threads": threads, "settings": vars(settings),
        "lr": specs.LR, "only": args.only, "versions": {}, "by_threads": [], "notes": []}
    log("gradient check (all models, hand baseline vs tinygrad_np" + (" and PyTorch" if torch_installed() else "")
        + ") ...")
    run["gradcheck"] = runner.run_check(max(threads), log)
    loaded_only = bool(args.only) and "loaded" in args.only
    if run["gradcheck"]["passed"]:
        for i, th in enumerate(threads if not loaded_only else []):
            log(f"timing with {th} thread(s) ...")
            block = runner.run_threads(th, i == 0, args.only, settings, log)
            run["by_threads"].append(block)
            for fw in ("check", "hand", "tinygrad_np", "torch"):
                run["versions"].update(block["workers"].get(fw, {}).get("versions", {}))
            for fw, why in block["unavailable"].items():
                if not (fw == "torch" and not torch_installed()):      # said once, below
                    run["notes"].append(f"{fw} unavailable at {th} thread(s): {why}")
        if not loaded_only and (not args.only or "compiled" in args.only):
            log("compiled steps (tg.compile), 1 thread ...")
            run["compiled"] = _run_compiled(args.quick, log)
            if "error" in run["compiled"]:
                run["notes"].append(f"compiled section: {run['compiled']['error']}")
        if args.loaded or loaded_only:
            log(f"loaded machine: {machine['usable_cores'] or 1} competing process(es) ...")
            run["loaded"] = loaded.run_loaded(threads, machine["usable_cores"] or 1, args.only,
                                              loaded.LOADED_QUICK if args.quick else loaded.LOADED, log)
            run["versions"].update(run["loaded"].pop("versions"))
    if not torch_installed():
        run["notes"].append(f"PyTorch is not installed, so it was left out; {TORCH_HINT}.")
    run["seconds"] = round(time.perf_counter() - t0, 1)
    errors = [f"{r['name']} [{fw}] at {b['threads']} thread(s): {msg}" for b in run["by_threads"]
              for r in b.get("results", []) for fw, msg in r["errors"].items()]
    errors += [f"{r['name']}/{r['batch']} loaded [{key}]: {msg}" for r in run.get("loaded", {}).get("results", [])
               for key, msg in r["errors"].items()]
    run["notes"] += errors
    if args.quick:
        run["notes"].append("--quick: a smoke test; its timings are too short to mean anything")
    if args.json:
        with atomic_write(args.json, "w") as f:
            json.dump(run, f, indent=1, allow_nan=True)
    if not run["gradcheck"]["passed"]:
        print(_gradcheck_failure(run["gradcheck"]))
        return 1
    print(report.markdown(run))
    print(f"({run['seconds']:.0f} s; command: {run['command']})")
    if args.plot:
        if report.plot(run, args.plot) is None:
            log("--plot: matplotlib is not installed (or nothing to plot); no chart written")
    return 2 if errors else 0


def _run_compiled(quick: bool, log: Any) -> Dict[str, Any]:
    """benchmarks/compiled.py in its own process at one thread (its rows measure hand, eager and compiled
    side by side in that process); its progress goes to our log, its rows come back through a JSON file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "compiled.json")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "benchmarks.compiled", "--json", path] + (["--quick"] if quick else [])
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout.splitlines():
            log("  " + line)
        if proc.returncode != 0 or not os.path.exists(path):
            return {"error": f"python -m benchmarks.compiled exited with status {proc.returncode}"}
        with open(path) as f:
            return json.load(f)


def _gradcheck_failure(g: Dict[str, Any]) -> str:
    lines = [f"Gradient check FAILED (tolerance {g['tolerance']:g} on max|g - g_hand| / max|g_hand|); "
             "nothing was timed:"]
    for e in g["entries"]:
        if e["passed"]:
            continue
        if "error" in e:
            lines.append(f"  {e['model']} (batch {e['batch']}), {e['framework']}: {e['error']}")
            continue
        bad = {k: v for k, v in e["param_rel_err"].items() if not v < g["tolerance"]}
        loss = f", loss {e['loss']:.6g} vs hand {e['loss_hand']:.6g}" if "loss" in e else ""
        lines.append(f"  {e['model']} (batch {e['batch']}), {e['framework']}: worst {e['max_rel_err']:.2e}; "
                     f"failing {', '.join(f'{k} {v:.2e}' for k, v in bad.items()) or '(loss only)'}{loss}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
