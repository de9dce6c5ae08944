"""Markdown tables for stdout, and the bar chart of the ratios (matplotlib, optional)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import specs
from .loaded import markdown as loaded_markdown
from .micro import MATMUL_N

NAMES = {"hand": "hand NumPy", "tinygrad_np": "tinygrad_np", "torch": "PyTorch"}
DRIFT_LIMIT = 0.2      # sentinel change from a worker's start to its end that flags a busy machine
FAULTS_NOTE = 10       # page faults per step worth a note under the training table
SLOW_LIMIT = 1.5       # a worker's sentinel this much slower than the fastest worker's: cores taken


def _t(timing: Optional[Dict[str, Any]], scale: float) -> str:
    if not timing:
        return "n/a"
    def f(v: float) -> str:
        v *= scale
        return f"{v:.3g}" if v < 100 else f"{v:.0f}"
    return f"{f(timing['median'])} [{f(timing['min'])}–{f(timing['max'])}]"


def _r(ratio: Optional[Dict[str, float]]) -> str:
    if not ratio:
        return "n/a"
    band = f" [{ratio['min']:.2f}–{ratio['max']:.2f}]" if "min" in ratio else ""
    return f"{ratio['value']:.2f}×{band}"


def peaks(run: Dict[str, Any]) -> Dict[int, float]:
    """NumPy float32 matmul GFLOP/s per thread count, from the fastest single 1024^3 product: the
    machine's limit is what it can do, and a busy machine only ever makes a step slower."""
    out = {}
    for block in run["by_threads"]:
        for r in block.get("results", []):
            if r["kind"] == "matmul" and "hand" in r["timings"]:
                out[block["threads"]] = 2 * MATMUL_N ** 3 / r["timings"]["hand"]["fastest"] / 1e9
    return out


def _targets(r: Dict[str, Any], torch: bool = True) -> str:
    spec = specs.get_model(r["name"])
    marks = []
    for other, limit in spec.targets.get(r["batch"], {}).items():
        if other == "torch" and not torch:
            continue
        got = r["ratios"].get(f"tinygrad_np/{other}")
        ok = "?" if got is None else ("met" if got["value"] <= limit else "MISSED")
        marks.append(f"≤{limit}× {NAMES[other]}: {ok}")
    return "; ".join(marks) or "–"


def _fraction(r: Dict[str, Any], peak: Optional[float]) -> str:
    t = r["timings"].get("tinygrad_np")
    if not (t and peak and r.get("flops")):
        return "n/a"
    return f"{100 * r['flops'] / t['median'] / 1e9 / peak:.0f}%"


# The columns every timing table has: time per call in each framework, then tinygrad_np's ratios.
# The PyTorch columns appear only when the run had PyTorch (see has_torch).
TIMING_COLUMNS = "hand NumPy | tinygrad_np | PyTorch | tinygrad_np ÷ hand | tinygrad_np ÷ PyTorch"
TIMING_COLUMNS_NO_TORCH = "hand NumPy | tinygrad_np | tinygrad_np ÷ hand"


def has_torch(run: Dict[str, Any]) -> bool:
    """Whether PyTorch took part in the run (it is left out when it is not installed)."""
    return any(e["framework"] == "torch" for e in run["gradcheck"]["entries"]) or \
        any("torch" in b["workers"] for b in run["by_threads"])


def _columns(torch: bool) -> str:
    return TIMING_COLUMNS if torch else TIMING_COLUMNS_NO_TORCH


def _align(torch: bool) -> str:
    return "rrrrr" if torch else "rrr"


def _timing_cells(timings: Dict[str, Any], ratios: Dict[str, Any], scale: float, torch: bool = True) -> str:
    """The timing-column cells of one row; `scale` turns seconds into the table's unit (1e3: ms)."""
    if not torch:
        return (f"{_t(timings.get('hand'), scale)} | {_t(timings.get('tinygrad_np'), scale)} | "
                f"{_r(ratios.get('tinygrad_np/hand'))}")
    return (f"{_t(timings.get('hand'), scale)} | {_t(timings.get('tinygrad_np'), scale)} | "
            f"{_t(timings.get('torch'), scale)} | {_r(ratios.get('tinygrad_np/hand'))} | "
            f"{_r(ratios.get('tinygrad_np/torch'))}")


def _table(title: str, header: str, align: str, rows: List[List[str]]) -> List[str]:
    """A markdown table under a `###` title: `header` as "a | b | ...", `align` one letter per column
    ("l" left, "r" right), `rows` as lists of cells; then a blank line."""
    separator = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return [f"### {title}\n", f"| {header} |", separator] + ["| " + " | ".join(cells) + " |" for cells in rows] + [""]


def _train_table(train: List[Dict[str, Any]], threads: int, peak: Optional[float], torch: bool = True) -> List[str]:
    rows = [[r["name"], str(r["batch"]), _timing_cells(r["timings"], r["ratios"], 1e3, torch),
             _targets(r, torch) if threads == 1 else "–", _fraction(r, peak)] for r in train]
    return _table(f"Training step, {threads} thread(s): ms per step, median [min–max of repeat medians]",
                  f"model | batch | {_columns(torch)} | target (1 thread) | tinygrad_np % of matmul peak",
                  "lr" + _align(torch) + "lr", rows)


def _layer_table(layers: List[Dict[str, Any]], threads: int, peak: Optional[float], torch: bool = True) -> List[str]:
    rows = [[r["name"], specs.LAYERS[r["name"]].describe(), _timing_cells(r["timings"], r["ratios"], 1e3, torch),
             _fraction(r, peak)] for r in layers]
    batch = specs.LAYERS[layers[0]["name"]].batch
    return _table(f"Layers (forward + backward, batch {batch}), {threads} thread(s): ms",
                  f"layer | input | {_columns(torch)} | tinygrad_np % of matmul peak", "ll" + _align(torch) + "r",
                  rows)


def markdown(run: Dict[str, Any]) -> str:
    out: List[str] = []
    pk = peaks(run)
    g = run["gradcheck"]
    worst = max((e.get("max_rel_err", float("inf")) for e in g["entries"]), default=0.0)
    out.append(f"Gradient check: {'passed' if g['passed'] else 'FAILED'} ({len(g['entries'])} comparisons "
               f"with the hand baseline, worst max relative error {worst:.1e}, tolerance {g['tolerance']:g})\n")
    torch = has_torch(run)
    for block in run["by_threads"]:
        th = block["threads"]
        res = block.get("results", [])
        train = [r for r in res if r["kind"] == "train"]
        if train:
            out += _train_table(train, th, pk.get(th), torch)
            out += _faults(train)
        layers = [r for r in res if r["kind"] == "layer"]
        if layers:
            out += _layer_table(layers, th, pk.get(th), torch)
        out += _overhead(res, torch)
        out += _memory(res)
    if run.get("compiled", {}).get("rows"):
        out += _compiled_table(run["compiled"])
    if run.get("loaded"):
        out += loaded_markdown(run["loaded"])
    out += _machine(run, pk)
    return "\n".join(out)


def _compiled_table(c: Dict[str, Any]) -> List[str]:
    """tg.compile's rows (benchmarks/compiled.py): hand, eager and compiled side by side in one process."""
    rows = []
    for r in c["rows"]:
        us = r["us"]
        cell = lambda k: f"{us[k]:.4g}" if k in us else "–"                        # noqa: E731
        ratio = lambda k: f"{r[k]:.2f}×" if k in r else "–"                        # noqa: E731
        rows.append([r["model"], str(r["batch"]), cell("hand"), cell("eager"), cell("compiled"),
                     ratio("compiled/hand"), ratio("eager/hand"), ratio("compiled/eager"), ratio("floor/hand")])
    out = _table("Compiled steps (tg.compile), 1 thread: µs per step, median of interleaved rounds; ratios are "
                 "medians of per-round ratios", "model | batch | hand NumPy | eager | compiled | compiled ÷ hand | "
                 "eager ÷ hand | compiled ÷ eager | floor ÷ hand", "lrrrrrrrr", rows)
    if c.get("chain"):
        ch = c["chain"]
        out.append(f"A {ch['ops']}-op elementwise chain on 1-element arrays replays at {ch['us_per_op']:+.2f} µs per op "
                   f"above NumPy's own ({ch['compiled_us']:.1f} vs {ch['numpy_us']:.1f} µs). Targets: "
                   + ", ".join(f"{k} ≤ {v}" for k, v in c["targets"].items()) + "\n")
    return out


def _faults(res: List[Dict[str, Any]]) -> List[str]:
    """Steps that fetch fresh pages from the OS (see timing.run_repeat): a cost of the allocation
    pattern, not of the arithmetic, and a common cause of a ratio that moves between runs."""
    rows = []
    for r in res:
        f = {fw: t.get("faults_per_step", 0.0) for fw, t in r["timings"].items()}
        if any(v >= FAULTS_NOTE for v in f.values()):
            rows.append(f"{r['name']} ({r['batch']}): " + ", ".join(f"{NAMES[k]} {v:.0f}" for k, v in f.items()))
    if not rows:
        return []
    return ["Minor page faults per step (fresh memory from the OS on every step): " + "; ".join(rows) + "\n"]


def _overhead(res: List[Dict[str, Any]], torch: bool = True) -> List[str]:
    over = {r["name"]: r for r in res if r["kind"] in ("overhead", "optim")}
    if not over:
        return []
    table = []
    labels = [("add", "`a + b`, 1-element float32, no grad"), ("add_grad", "`a + b`, requires_grad (forward)"),
            ("chain", "10-op chain, forward + backward"), ("sgd", "SGD step alone, MNIST MLP (101,770 params)")]
    for key, label in labels:
        r = over.get(key)
        if r is None:
            continue
        tm = dict(r["timings"])
        ratios = dict(r["ratios"])
        if key == "add_grad" and "add" in over and "hand" in over["add"]["timings"]:
            tm["hand"] = over["add"]["timings"]["hand"]          # the bare ndarray `a + b`, not re-timed
            if "tinygrad_np" in tm:
                ratios["tinygrad_np/hand"] = {"value": tm["tinygrad_np"]["median"] / tm["hand"]["median"]}
        target = "–"
        if key == "add_grad" and "tinygrad_np/torch" in ratios:
            ok = ratios["tinygrad_np/torch"]["value"] <= specs.OVERHEAD_TARGET
            target = f"≤{specs.OVERHEAD_TARGET}× PyTorch: {'met' if ok else 'MISSED'}"
        table.append([label, _timing_cells(tm, ratios, 1e6, torch), target])
    return _table("Per-op overhead and the optimizer step: µs per call", f"benchmark | {_columns(torch)} | target",
                  "l" + _align(torch) + "l", table)


def _memory(res: List[Dict[str, Any]]) -> List[str]:
    mem = [r for r in res if r.get("memory")]
    if not mem:
        return []
    rows = []
    for r in mem:
        h, t = r["memory"].get("hand"), r["memory"].get("tinygrad_np")
        label = f"{r['name']} ({r['batch']})" if r["kind"] == "train" else "SGD step alone, MNIST MLP"
        ratio = t / h if h and t is not None else None
        ok = "n/a" if ratio is None else ("met" if ratio <= specs.MEMORY_TARGET else "MISSED")
        rows.append([label, _mb(h), _mb(t), "n/a" if ratio is None else f"{ratio:.2f}×", ok])
    return _table("Peak memory of one step (tracemalloc, after warm-up): MB",
                  f"benchmark | hand NumPy | tinygrad_np | tinygrad_np ÷ hand | target ≤{specs.MEMORY_TARGET}×",
                  "lrrrl", rows)


def _mb(b: Optional[int]) -> str:
    return "n/a" if b is None else f"{b / 1e6:.3g}"


def _machine(run: Dict[str, Any], pk: Dict[int, float]) -> List[str]:
    m = run["machine"]
    out = [f"### Machine\n", f"{m['cpu']}, {m['usable_cores']} usable cores; Python {m['python']}, "
           f"NumPy {run['versions'].get('numpy', '?')} ({run['versions'].get('blas', {}).get('name', '?')}), "
           f"PyTorch {run['versions'].get('torch', 'not installed')}.\n"]
    if pk:
        out.append("NumPy float32 matmul peak (fastest " + f"{MATMUL_N}³ product): " +
                   ", ".join(f"{v:.1f} GFLOP/s at {t} thread(s)" for t, v in sorted(pk.items())) + "\n")
    drift = []
    best = min((min(w["sentinel"], w.get("sentinel_end", w["sentinel"])) for b in run["by_threads"]
                for w in b["workers"].values()), default=None)
    for block in run["by_threads"]:
        for fw, w in block["workers"].items():
            if "drift" in w:
                flag = " ← busy machine?" if abs(w["drift"] - 1) > DRIFT_LIMIT else ""
                if max(w["sentinel"], w["sentinel_end"]) > SLOW_LIMIT * best:
                    flag += f" ← {max(w['sentinel'], w['sentinel_end']) / best:.0f}× the fastest worker: cores busy?"
                drift.append(f"{NAMES[fw]}@{block['threads']}: {w['sentinel'] * 1e3:.3f} → "
                             f"{w['sentinel_end'] * 1e3:.3f} ms (×{w['drift']:.2f}){flag}")
    if drift:
        out.append("Drift sentinel (256³ float32 matmul, worker start → end): " + "; ".join(drift) + "\n")
    for n in run.get("notes", []):
        out.append(f"Note: {n}\n")
    return out


def plot(run: Dict[str, Any], path: str) -> Optional[str]:
    """A bar chart of tinygrad_np ÷ hand and ÷ PyTorch per model and thread count; None if no matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    blocks = [b for b in run["by_threads"] if any(r["kind"] == "train" for r in b.get("results", []))]
    if not blocks:
        return None
    fig, axes = plt.subplots(len(blocks), 1, figsize=(10, 3.6 * len(blocks)), squeeze=False)
    for ax, block in zip(axes[:, 0], blocks):
        train = [r for r in block["results"] if r["kind"] == "train"]
        xs = range(len(train))
        others = (("hand", "tab:blue"), ("torch", "tab:orange")) if has_torch(run) else (("hand", "tab:blue"),)
        for k, (other, color) in enumerate(others):
            vals = [r["ratios"].get(f"tinygrad_np/{other}", {}).get("value", 0.0) for r in train]
            ax.bar([x + (k - (len(others) - 1) / 2) * 0.38 for x in xs], vals, 0.38, color=color,
                   label=f"tinygrad_np ÷ {NAMES[other]}")
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f"{r['name']}\n({r['batch']})" for r in train], fontsize=8)
        ax.set_ylabel("time ratio (lower is faster)")
        ax.set_title(f"Training step, {block['threads']} thread(s)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
