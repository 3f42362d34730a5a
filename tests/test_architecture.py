"""Rules of the layout, enforced (docs/architecture.md): the core never imports Qt, the GUI uses
only the public ``xpsfit`` API, ``xpsfit/`` has no import cycles and no module is named like the
function it exports."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import xpsfit
from realdata import ROOT

CORE = ROOT / "xpsfit"
GUI = ROOT / "gui"
QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "xpsfit_gui", "shiboken6")


def _modules(base: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).with_suffix("")
        parts = [package, *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_text("utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name, [], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((mod, [a.name for a in node.names], node.lineno))
    return out


def test_core_never_imports_qt():
    bad = []
    for name, path in _modules(CORE, "xpsfit").items():
        for mod, _, line in _imports(name, path):
            if mod.split(".")[0] in QT:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, bad


def test_gui_uses_only_the_public_api():
    public = set(xpsfit.__all__)
    bad = []
    for name, path in _modules(GUI, "xpsfit_gui").items():
        tree = ast.parse(path.read_text("utf-8"))
        for mod, names, line in _imports(name, path):
            if mod == "xpsfit":
                bad += [f"{path.name}:{line} from xpsfit import {n}" for n in names
                        if n not in public]
            elif mod.startswith("xpsfit."):
                bad.append(f"{path.name}:{line} imports {mod} (not the public API)")
        for node in ast.walk(tree):       # xpsfit.<name> attribute use
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "xpsfit" and node.attr not in public:
                bad.append(f"{path.name}:{node.lineno} uses xpsfit.{node.attr}")
    assert not bad, bad


def _graph() -> dict[str, set[str]]:
    mods = _modules(CORE, "xpsfit")
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for mod, names, _ in _imports(name, path):
            if not mod.startswith("xpsfit"):
                continue
            targets = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in mods] or [mod]
            for t in targets:
                if t in mods and t != name and t != "xpsfit":   # the API façade is lazy
                    graph[name].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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

    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles_in_the_core():
    """Every import counts, the ones inside functions too (a lazy import is still a cycle)."""
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_named_like_the_function_it_exports():
    clashes = []
    for name in xpsfit.__all__:
        value = getattr(xpsfit, name)
        if callable(value) and not isinstance(value, type):
            mod = f"xpsfit.{name}"
            if mod in _modules(CORE, "xpsfit"):
                clashes.append(mod)
    assert not clashes, clashes


@pytest.mark.parametrize("name", sorted(set(xpsfit.__all__)))
def test_every_public_name_resolves(name):
    assert getattr(xpsfit, name) is not None
