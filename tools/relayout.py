"""Move core modules and rewrite every import that names them (one-off layout tool).

    python tools/relayout.py old.module=new.module ...   (run from the repository root)

Modules are dotted names under ``xpsfit``; files are moved with ``git mv``. Imports in xpsfit/
are rewritten relative to the importing file's NEW location, elsewhere absolute. String
references (``"xpsfit.old"`` in lazy tables, docs) are rewritten too.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path.cwd()


def mod_path(mod: str) -> Path:
    p = ROOT / Path(*mod.split("."))
    return p / "__init__.py" if p.is_dir() else p.with_suffix(".py")


def file_module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "gui":
        parts[0] = "xpsfit_gui"
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def relative(target: str, importer: str, is_pkg: bool) -> tuple[int, str]:
    """(level, module) of ``from <dots><module> import`` for target seen from importer."""
    here = importer.split(".") if is_pkg else importer.split(".")[:-1]
    t = target.split(".")
    common = 0
    while common < min(len(here), len(t)) and here[common] == t[common]:
        common += 1
    level = len(here) - common + 1
    return level, ".".join(t[common:])


def rename(mod: str, table: dict[str, str]) -> str:
    for old, new in sorted(table.items(), key=lambda kv: -len(kv[0])):
        if mod == old or mod.startswith(old + "."):
            return new + mod[len(old):]
    return mod


def rewrite(path: Path, table: dict[str, str], new_module: str) -> bool:
    text = path.read_text("utf-8")
    old_module = file_module(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            absolute = resolve(node, old_module, is_pkg)
            # "from pkg import sub" where sub is a moved module
            names = []
            moved_sub = False
            for a in node.names:
                full = f"{absolute}.{a.name}"
                if full in table:
                    moved_sub = True
                names.append(a)
            new_abs = rename(absolute, table)
            if moved_sub:
                # split: each moved submodule imported from its new parent
                out = []
                for a in names:
                    full = f"{absolute}.{a.name}"
                    tgt = rename(full, table) if full in table else None
                    if tgt:
                        parent, leaf = tgt.rsplit(".", 1)
                        alias = a.asname or a.name
                        src = _fmt_from(parent, new_module, is_pkg, path)
                        out.append(f"from {src} import {leaf}" +
                                   (f" as {alias}" if alias != leaf else ""))
                    else:
                        src = _fmt_from(new_abs, new_module, is_pkg, path)
                        out.append(f"from {src} import {a.name}" +
                                   (f" as {a.asname}" if a.asname else ""))
                edits.append((node, out))
            elif new_abs != absolute or (node.level and new_module != old_module):
                src = _fmt_from(new_abs, new_module, is_pkg, path)
                body = ", ".join(a.name + (f" as {a.asname}" if a.asname else "")
                                 for a in node.names)
                edits.append((node, [f"from {src} import {body}"]))
        elif isinstance(node, ast.Import):
            changed = [rename(a.name, table) for a in node.names]
            if changed != [a.name for a in node.names]:
                body = ", ".join(n + (f" as {a.asname}" if a.asname else "")
                                 for n, a in zip(changed, node.names))
                edits.append((node, [f"import {body}"]))
    if not edits:
        new_text = text
    else:
        for node, out in sorted(edits, key=lambda e: -e[0].lineno):
            start, end = node.lineno - 1, node.end_lineno
            first = lines[start]
            indent = first[:len(first) - len(first.lstrip())]
            tail = lines[end - 1][node.end_col_offset:] if end - 1 < len(lines) else "\n"
            joined = "".join(f"{indent}{o}\n" for o in out)
            lines[start:end] = [joined.rstrip("\n") + tail if tail.strip() else joined]
        new_text = "".join(lines)
    # string references: "xpsfit.old" in lazy tables, docstrings, messages
    for old, new in sorted(table.items(), key=lambda kv: -len(kv[0])):
        new_text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, new_text)
    if new_text != text:
        path.write_text(new_text, "utf-8")
        return True
    return False


def _fmt_from(target: str, importer: str, is_pkg: bool, path: Path) -> str:
    inside = path.relative_to(ROOT).parts[0] == "xpsfit"
    if inside and target.startswith("xpsfit"):
        level, mod = relative(target, importer, is_pkg)
        return "." * level + mod
    return target


def main(argv):
    table = dict(a.split("=", 1) for a in argv)
    files = [p for d in ("xpsfit", "gui", "tests", "benchmarks", "tools", "example_spectra")
             for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts]
    new_names = {}
    for p in files:
        m = file_module(p)
        new_names[p] = rename(m, table) if p.parts[len(ROOT.parts)] == "xpsfit" else m
    for p in files:
        rewrite(p, table, new_names[p])
    for old, new in table.items():
        src, dst = mod_path(old), ROOT / Path(*new.split(".")).with_suffix(".py")
        dst.parent.mkdir(parents=True, exist_ok=True)
        init = dst.parent / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{new.rsplit(".", 1)[0]}."""\n')
            subprocess.run(["git", "add", str(init)], check=True)
        subprocess.run(["git", "mv", str(src), str(dst)], check=True)
    for md in list(ROOT.glob("*.md")) + list((ROOT / "docs").glob("*.md")):
        text = md.read_text("utf-8")
        new = text
        for old, nw in sorted(table.items(), key=lambda kv: -len(kv[0])):
            new = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", nw, new)
            new = new.replace(old.replace(".", "/") + ".py", nw.replace(".", "/") + ".py")
        if new != text:
            md.write_text(new, "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
