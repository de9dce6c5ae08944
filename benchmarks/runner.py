"""The parent side: start the workers, run the gradient check, interleave the timed repeats.

For each thread count, one worker per framework is started with the thread count in its environment.
Every benchmark then runs in rounds: in each round every framework's worker runs one repeat (the
order rotating from round to round), so all frameworks see the same machine conditions and the
per-round ratios are paired measurements. Only one worker computes at any time.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import specs
from .machine import ROOT, TORCH_HINT, torch_installed
from .worker import thread_env

FRAMEWORKS = ("hand", "tinygrad_np", "torch")


@dataclass
class Settings:
    repeats: int
    seconds: float            # minimum length of one repeat
    min_steps: int            # minimum steps of one repeat
    warmup_seconds: float
    warmup_steps: int
    sentinel_seconds: float


FULL = Settings(repeats=5, seconds=1.0, min_steps=3, warmup_seconds=0.5, warmup_steps=3, sentinel_seconds=0.3)
QUICK = Settings(repeats=2, seconds=0.02, min_steps=2, warmup_seconds=0.0, warmup_steps=1, sentinel_seconds=0.02)


class WorkerError(RuntimeError):
    pass


class WorkerProc:
    """A worker process: JSON requests on its stdin, JSON replies on its stdout."""

    def __init__(self, framework: str, threads: int) -> None:
        env = dict(os.environ)
        env.update(thread_env(threads))
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.framework, self.threads = framework, threads
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", framework, str(threads)],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def _read(self) -> Dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"the {self.framework} worker ({self.threads} threads) exited "
                              f"(code {self.proc.wait()}); see its messages above")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.framework} worker: {reply['error']}\n{reply.get('trace', '')}")
        return reply

    def started(self) -> Dict[str, Any]:
        return self._read()

    def call(self, op: str, **kwargs: Any) -> Dict[str, Any]:
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Item:
    kind: str
    name: str
    batch: int
    frameworks: Tuple[str, ...]
    memory: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}/{self.batch}" if self.kind == "train" else self.name


def plan(threads: int, first: bool, only: Optional[List[str]]) -> List[Item]:
    """What one thread count runs. Per-op overhead, the optimizer step and memory do not depend on the
    BLAS thread count and run once, with the first thread count."""
    items = [Item("train", m, b, FRAMEWORKS, memory=first) for m, b in specs.train_items()]
    items += [Item("layer", n, 0, FRAMEWORKS) for n in specs.LAYERS]
    if first:
        items += [Item("overhead", "add", 0, FRAMEWORKS), Item("overhead", "add_grad", 0, FRAMEWORKS[1:]),
                  Item("overhead", "chain", 0, FRAMEWORKS), Item("optim", "sgd", 0, FRAMEWORKS, memory=True)]
    if only:
        sections = {"train": "train", "layer": "layer", "layers": "layer", "overhead": "overhead",
                    "optim": "optim", "matmul": "matmul", "peak": "matmul"}
        keep = {sections.get(t, t) for t in only}
        items = [it for it in items if keep & {it.kind, it.name, it.label}]
    if not only or items or keep & {"matmul"}:
        items.append(Item("matmul", "matmul", 0, ("hand",)))
    return items


def run_check(threads: int, log: Any) -> Dict[str, Any]:
    """The gradient check, in its own worker that imports all three frameworks."""
    w = WorkerProc("check", threads)
    try:
        w.started()
        return w.call("gradcheck")
    finally:
        w.close()


def _summary(repeats: List[Dict[str, float]]) -> Dict[str, Any]:
    meds = [r["median"] for r in repeats]
    return {"median": statistics.median(meds), "min": min(meds), "max": max(meds), "repeats": meds,
            "fastest": min(r["min"] for r in repeats), "steps": sum(int(r["steps"]) for r in repeats),
            "faults_per_step": statistics.median(r["faults_per_step"] for r in repeats)}


def _ratio(a: List[Dict[str, float]], b: List[Dict[str, float]]) -> Dict[str, float]:
    """Ratio of the medians, with the band of the paired (same-round) ratios."""
    paired = [x["median"] / y["median"] for x, y in zip(a, b)]
    return {"value": statistics.median([x["median"] for x in a]) / statistics.median([y["median"] for y in b]),
            "min": min(paired), "max": max(paired)}


def run_item(item: Item, workers: Dict[str, WorkerProc], threads: int, s: Settings, log: Any) -> Dict[str, Any]:
    t0 = time.perf_counter()
    res: Dict[str, Any] = {"kind": item.kind, "name": item.name, "batch": item.batch, "threads": threads,
                           "timings": {}, "ratios": {}, "errors": {}, "memory": {}}
    fws = []
    for fw in item.frameworks:
        if fw not in workers:
            continue
        try:
            workers[fw].call("setup", kind=item.kind, name=item.name, batch=item.batch)
            workers[fw].call("warmup", seconds=s.warmup_seconds, min_steps=s.warmup_steps)
            fws.append(fw)
        except WorkerError as e:
            res["errors"][fw] = str(e).splitlines()[0]
            log(f"  ! {item.label} [{fw}]: {e}")
    reps: Dict[str, List[Dict[str, float]]] = {fw: [] for fw in fws}
    for r in range(s.repeats):
        k = r % max(len(fws), 1)
        for fw in fws[k:] + fws[:k]:
            reps[fw].append(workers[fw].call("repeat", seconds=s.seconds, min_steps=s.min_steps))
    for fw in fws:
        res["timings"][fw] = _summary(reps[fw])
        if item.memory and fw != "torch":
            res["memory"][fw] = workers[fw].call("memory")["peak_bytes"]
        workers[fw].call("release")
    for other in ("hand", "torch"):
        if "tinygrad_np" in reps and other in reps:
            res["ratios"][f"tinygrad_np/{other}"] = _ratio(reps["tinygrad_np"], reps[other])
    if item.kind == "train":
        res["flops"] = specs.train_flops(specs.get_model(item.name), item.batch)
    elif item.kind == "layer":
        res["flops"] = specs.layer_flops(item.name)
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res


def run_threads(threads: int, first: bool, only: Optional[List[str]], s: Settings, log: Any) -> Dict[str, Any]:
    info: Dict[str, Any] = {"threads": threads, "workers": {}, "unavailable": {}}
    present = [fw for fw in FRAMEWORKS if fw != "torch" or torch_installed()]
    if "torch" not in present:
        info["unavailable"]["torch"] = f"not installed; {TORCH_HINT}"
    procs = {fw: WorkerProc(fw, threads) for fw in present}
    workers: Dict[str, WorkerProc] = {}
    try:
        for fw, p in procs.items():            # the workers import in parallel; collect them in turn
            try:
                p.started()
                workers[fw] = p
            except WorkerError as e:
                info["unavailable"][fw] = str(e).splitlines()[0]
                log(f"  ! {fw} unavailable at {threads} thread(s): {info['unavailable'][fw]}")
                p.close()
        for fw, w in workers.items():
            info["workers"][fw] = w.call("hello", seconds=s.sentinel_seconds)
        results = []
        for item in plan(threads, first, only):
            log(f"  {item.kind:8s} {item.label:22s} threads={threads}")
            results.append(run_item(item, workers, threads, s, log))
        for fw, w in workers.items():
            end = w.call("bye", seconds=s.sentinel_seconds)
            start = info["workers"][fw]["sentinel"]
            info["workers"][fw].update(sentinel_end=end["sentinel"], load_end=end["load"],
                                       drift=end["sentinel"] / start)
        info["results"] = results
        return info
    finally:
        for p in procs.values():
            p.close()
