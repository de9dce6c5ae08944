"""The loaded-machine run: training steps timed quiet and again while one competing CPU-bound process
per usable core runs (started and stopped here), as users' laptops are busy machines.

One worker per (framework, thread count) lives through the whole run, so every number is paired:
in each round every worker runs one quiet repeat, then the load starts, every worker runs one loaded
repeat, and the load stops. Reported per framework and thread count: loaded ÷ quiet (the collapse),
and loaded at N threads ÷ loaded at 1 thread (issue 15's target: ≤ 1.2 for tinygrad_np).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from . import specs
from .runner import FRAMEWORKS, Settings, WorkerError, WorkerProc, _summary

LOADED = Settings(repeats=3, seconds=0.5, min_steps=2, warmup_seconds=0.2, warmup_steps=2, sentinel_seconds=0.1)
LOADED_QUICK = Settings(repeats=1, seconds=0.02, min_steps=1, warmup_seconds=0.0, warmup_steps=1,
                        sentinel_seconds=0.02)
SPIN = "while True: pass"          # one core's worth of pure-Python work (holds its own GIL, not ours)


class Load:
    """`with Load(n):` runs n busy-looping Python processes; they are killed on exit, even on error."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: List[subprocess.Popen] = []

    def __enter__(self) -> "Load":
        self.procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL)
                      for _ in range(self.n)]
        time.sleep(0.05)                # let them start spinning before the clock runs
        return self

    def __exit__(self, *exc: Any) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def items(only: Optional[List[str]]) -> List[Tuple[str, int]]:
    """The training steps of the loaded run: those named in --only (a model or model/batch), else all."""
    every = specs.train_items()
    named = [(m, b) for m, b in every if {m, f"{m}/{b}"} & set(only or ())]
    return named or every


def _paired(a: List[Dict[str, float]], b: List[Dict[str, float]]) -> Dict[str, float]:
    ratios = [x["median"] / y["median"] for x, y in zip(a, b)]
    return {"value": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def run_loaded(threads: List[int], cores: int, only: Optional[List[str]], s: Settings, log: Any) -> Dict[str, Any]:
    """Every selected training step, quiet and under `cores` competing processes, at every thread count."""
    procs = {(fw, th): WorkerProc(fw, th) for th in threads for fw in FRAMEWORKS}
    workers: Dict[Tuple[str, int], WorkerProc] = {}
    out: Dict[str, Any] = {"threads": threads, "load_processes": cores, "unavailable": {}, "results": [],
                           "versions": {}}
    try:
        for key, p in procs.items():
            try:
                p.started()
                out["versions"].update(p.call("hello", seconds=s.sentinel_seconds)["versions"])
                workers[key] = p
            except WorkerError as e:
                out["unavailable"][f"{key[0]}@{key[1]}"] = str(e).splitlines()[0]
                p.close()
        for model, batch in items(only):
            log(f"  loaded   {model}/{batch:<16d} threads={','.join(map(str, threads))}")
            out["results"].append(_run_one(model, batch, workers, cores, s))
        return out
    finally:
        for p in procs.values():
            p.close()


def _run_one(model: str, batch: int, workers: Dict[Tuple[str, int], WorkerProc], cores: int,
             s: Settings) -> Dict[str, Any]:
    res: Dict[str, Any] = {"name": model, "batch": batch, "quiet": {}, "loaded": {}, "loaded/quiet": {},
                           "loaded/loaded@1": {}, "errors": {}}
    ready = []
    for key, w in workers.items():
        try:
            w.call("setup", kind="train", name=model, batch=batch)
            w.call("warmup", seconds=s.warmup_seconds, min_steps=s.warmup_steps)
            ready.append(key)
        except WorkerError as e:
            res["errors"][f"{key[0]}@{key[1]}"] = str(e).splitlines()[0]
    reps: Dict[str, Dict[Tuple[str, int], List[Dict[str, float]]]] = {
        "quiet": {k: [] for k in ready}, "loaded": {k: [] for k in ready}}
    for r in range(s.repeats):
        order = ready[r % max(len(ready), 1):] + ready[:r % max(len(ready), 1)]
        for k in order:
            reps["quiet"][k].append(workers[k].call("repeat", seconds=s.seconds, min_steps=s.min_steps))
        with Load(cores):
            for k in order:
                reps["loaded"][k].append(workers[k].call("repeat", seconds=s.seconds, min_steps=s.min_steps))
    for k in ready:
        label = f"{k[0]}@{k[1]}"
        res["quiet"][label] = _summary(reps["quiet"][k])
        res["loaded"][label] = _summary(reps["loaded"][k])
        res["loaded/quiet"][label] = _paired(reps["loaded"][k], reps["quiet"][k])
        one = (k[0], 1)
        if k[1] != 1 and one in reps["loaded"]:
            res["loaded/loaded@1"][label] = _paired(reps["loaded"][k], reps["loaded"][one])
        workers[k].call("release")
    return res


def _ms(seconds: float) -> str:
    v = 1e3 * seconds
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


TARGET_THREADS_LOADED = 1.2      # tinygrad_np: a step at N threads, loaded, vs the same at 1 thread, loaded


def markdown(block: Dict[str, Any]) -> List[str]:
    """The loaded-machine table: per step and thread count, each framework's loaded ÷ quiet, and
    tinygrad_np's loaded step at N threads ÷ at 1 thread against the target."""
    names = {"hand": "hand NumPy", "tinygrad_np": "tinygrad_np", "torch": "PyTorch"}
    fws = [fw for fw in FRAMEWORKS if any(f"{fw}@{th}" in r["quiet"] for r in block["results"]
                                          for th in block["threads"])]
    rows = []
    for r in block["results"]:
        for th in block["threads"]:
            cells = [r["name"], str(r["batch"]), str(th)]
            for fw in fws:
                q, l, ratio = (r[k].get(f"{fw}@{th}") for k in ("quiet", "loaded", "loaded/quiet"))
                cells.append("n/a" if ratio is None else
                             f"{_ms(q['median'])} → {_ms(l['median'])} ms: {ratio['value']:.2f}× "
                             f"[{ratio['min']:.2f}–{ratio['max']:.2f}]")
            vs1 = r["loaded/loaded@1"].get(f"tinygrad_np@{th}")
            cells.append("–" if vs1 is None else f"{vs1['value']:.2f}× "
                         f"({'met' if vs1['value'] <= TARGET_THREADS_LOADED else 'MISSED'})")
            rows.append(cells)
    header = ("model | batch | threads | " + " | ".join(f"{names[fw]} quiet → loaded: loaded ÷ quiet" for fw in fws)
              + f" | tinygrad_np loaded, N ÷ 1 thread (target ≤{TARGET_THREADS_LOADED})")
    sep = "|" + "|".join(["---"] * 3 + ["---:"] * (len(fws) + 1)) + "|"
    title = (f"### Loaded machine: {block['load_processes']} competing CPU-bound process(es), one per usable core; "
             "median [min–max of paired rounds]\n")
    lines = [title, f"| {header} |", sep] + ["| " + " | ".join(c) + " |" for c in rows] + [""]
    for key, why in block["unavailable"].items():
        lines.append(f"({key} unavailable: {why})")
    return lines
