"""The package's imports point down the layers of docs/DESIGN.md and never depend on their order.

Two checks: (1) the graph of module-level imports inside tinygrad_np is acyclic and the autograd core
imports nothing above it — then no import order can meet a half-initialised module; (2) every module,
imported first in a fresh interpreter, imports cleanly (the behaviour the graph argument promises).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_np"
CORE = {"tinygrad_np.dtypes", "tinygrad_np._validate", "tinygrad_np.grad_mode", "tinygrad_np.random",
        "tinygrad_np.autograd", "tinygrad_np.tensor", "tinygrad_np.function", "tinygrad_np.versions", "tinygrad_np.device"}
ABOVE_OPS = ("tinygrad_np.nn", "tinygrad_np.optim", "tinygrad_np.data", "tinygrad_np.serialization",
             "tinygrad_np.viz", "tinygrad_np.gradcheck", "tinygrad_np.testing")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _top_level_imports(name: str, path: Path) -> set:
    """Package modules imported at module level (not inside functions) by `name`."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tinygrad_np")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tinygrad_np"):
                continue
            for alias in node.names:          # `from . import nn` imports a submodule
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return found - {name}


GRAPH = {name: _top_level_imports(name, path) for name, path in MODULES.items()}


def _with_parents(name: str) -> set:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def test_module_level_imports_form_no_cycle():
    edges = {n: {m for t in deps for m in _with_parents(t) if m in MODULES and m != n} for n, deps in GRAPH.items()}
    # a package's __init__ may import its own submodules (that is not a cycle through the parent)
    for n in edges:
        edges[n] = {m for m in edges[n] if not n.startswith(m + ".") and m != "tinygrad_np"}
    state: dict = {}

    def visit(n: str, path: list) -> None:
        state[n] = "open"
        for m in edges[n]:
            if state.get(m) == "open":
                pytest.fail(f"import cycle: {' -> '.join(path + [n, m])}")
            if m not in state:
                visit(m, path + [n])
        state[n] = "done"

    for n in sorted(edges):
        if n not in state:
            visit(n, [])


def test_the_core_imports_nothing_above_it():
    for name in CORE:
        above = {t for t in GRAPH[name] if t not in CORE and t != "tinygrad_np"}
        assert not above, f"{name} (autograd core) imports {sorted(above)} from a higher layer"


def test_ops_import_nothing_above_them():
    for name, deps in GRAPH.items():
        if name.startswith("tinygrad_np.ops"):
            bad = {t for t in deps if t.startswith(ABOVE_OPS)}
            assert not bad, f"{name} imports {sorted(bad)}, a layer above the ops"


def test_every_function_subclass_lives_in_ops_and_no_name_is_also_a_module():
    import tinygrad_np as tg
    from tinygrad_np import nn

    functions = {c for c in _all_subclasses(tg.Function) if c.__module__.startswith("tinygrad_np")}
    assert len(functions) >= 40
    outside = sorted(f"{c.__module__}.{c.__name__}" for c in functions if not c.__module__.startswith("tinygrad_np.ops"))
    assert not outside, f"Functions outside tinygrad_np/ops: {outside}"
    modules = {c.__name__ for c in _all_subclasses(nn.Module)}
    clashes = sorted({c.__name__ for c in functions} & modules)
    assert not clashes, f"names that are both a Function and a Module: {clashes}"


def _all_subclasses(cls: type) -> set:
    out, todo = set(), [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


FRESH_IMPORTS = """
import importlib, sys
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "tinygrad_np" or m.startswith("tinygrad_np.")]:
        del sys.modules[loaded]                 # each module below is imported first, into a fresh package
    try:
        importlib.import_module(name)
        import tinygrad_np as tg
        assert (tg.ones(2) + 1).sum().item() == 4.0
    except Exception as e:
        failures.append(f"{name}: {type(e).__name__}: {e}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def test_each_module_imports_first_into_a_fresh_package():
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    done = subprocess.run([sys.executable, "-c", FRESH_IMPORTS, *sorted(MODULES)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
