"""The package's layout holds: no import cycles, lazy facades, explicit ``__all__``, short files."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "initlab"
TESTS = Path(__file__).resolve().parent
MODULES = sorted(p for p in PKG.rglob("*.py") if p.name != "__main__.py")


def _modname(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


_KNOWN = frozenset(_modname(p) for p in MODULES)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _known(name: str) -> str | None:
    """``name`` if it is a module of the package, else its longest prefix that is one (``a.b.C`` → ``a.b``)."""
    known = _KNOWN
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path, *, typing_only: bool = False) -> set[str]:
    """The package modules that ``path`` imports anywhere (module level and inside functions), except under
    ``if TYPE_CHECKING:``."""
    mod = _modname(path)
    pkg = mod if _is_package(path) else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("initlab"):
                continue
            for alias in node.names:
                sub = _known(f"{target}.{alias.name}")
                hit = sub if sub and sub != _known(target) else _known(target)
                if hit:
                    out.add(hit)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("initlab") and _known(alias.name):
                    out.add(_known(alias.name))
    out.discard(mod)
    return out


def _graph() -> dict[str, set[str]]:
    graph = {_modname(p): imports_of(p) for p in MODULES}
    # importing a.b.c runs a/__init__ and a/b/__init__ first, but a package facade that imports its own
    # submodules is not a cycle of concepts: edges from a facade to its children are dropped.
    return {m: {t for t in deps if not t.startswith(m + ".")} for m, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_even_through_function_level_imports():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_the_package_facade():
    offenders = [_modname(p) for p in MODULES if p != PKG / "__init__.py" and "initlab" in imports_of(p)]
    assert offenders == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_every_module_has_an_explicit_all_and_stays_short(path):
    if path.name == "__main__.py":
        return
    tree = ast.parse(path.read_text())
    names = [t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
             for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)]
    assert "__all__" in names, f"{path.name} has no __all__"
    assert len(path.read_text().splitlines()) <= 450, f"{path.name} is over ~400 lines"


def test_no_test_module_imports_another_test_module():
    test_modules = {p.stem for p in TESTS.glob("test_*.py")}
    bad = []
    for p in TESTS.glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [(p.name, n) for n in names if n.split(".")[0] in test_modules]
    assert bad == []


@pytest.mark.parametrize("stmt", ["import initlab", "import initlab.cli", "import initlab.sim, initlab.theory",
                                  "import initlab; initlab.get_activation('relu'); initlab.SimConfig"])
def test_light_imports_load_no_pandas_scipy_or_matplotlib(stmt):
    code = f"{stmt}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {{'pandas', 'scipy', 'matplotlib'}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_facade_names_resolve_and_load_on_demand():
    code = (
        "import sys, initlab\nassert 'pandas' not in sys.modules\nfor n in initlab.__all__: getattr(initlab, n)\n"
        "import initlab.plots, initlab.report\nassert 'pandas' in sys.modules\nprint(len(initlab.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 40
