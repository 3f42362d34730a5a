"""No code runs from a file: no pickle/eval/exec of file or recipe text, and hostile link
expressions in recipes are refused before lmfit sees them — through the Python API and the CLI.

The source scan tokenises every module of the package and the GUI (comments and strings do not
count) and fails on any use of a dangerous name that is not in the allow-list below, each entry
with the reason it is safe.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

import xpsfit
from realdata import EXAMPLES, ROOT
from xpsfit.errors import RecipeError
from xpsfit.links import parse_expression, parse_link

SOURCES = sorted((ROOT / "xpsfit").rglob("*.py")) + sorted((ROOT / "gui").rglob("*.py"))

#: names whose use means running or unpickling data
DANGEROUS = {"pickle", "cPickle", "dill", "marshal", "shelve", "eval", "exec", "__import__",
             "literal_eval", "yaml", "allow_pickle", "compile", "execfile", "runpy",
             "import_module", "system", "popen"}

#: (file relative to the repo, name) -> why it is safe
ALLOWED = {
    ("xpsfit/engine/structure.py", "compile"):
        "compiles link/prior expressions that xpsfit.links produced from a whitelisted AST "
        "(numbers, + - * /, parameter names); never raw file text",
    ("xpsfit/engine/structure.py", "eval"):
        "evaluates those compiled expressions with EXPR_GLOBALS = {'__builtins__': {}} plus math "
        "functions, locals = parameter values (only for non-affine links and priors)",
    ("xpsfit/io/__init__.py", "import_module"):
        "imports the reader modules named in the fixed _REGISTRY table, never a name from a file",
    ("xpsfit/__init__.py", "import_module"):
        "lazy public API: module names come from the fixed _API table",
    ("xpsfit/cli/__init__.py", "import_module"):
        "sub-command modules from the fixed COMMANDS list",
}


def _uses(path: Path) -> list[tuple[str, int]]:
    """(name, line) of every NAME token in DANGEROUS that is not an attribute of something
    else (``re.compile`` and ``pattern.compile`` are fine; ``compile(`` is not)."""
    out = []
    prev = None
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string in DANGEROUS:
            is_attribute = prev is not None and prev.type == tokenize.OP and prev.string == "."
            if not is_attribute or tok.string in ("literal_eval", "allow_pickle", "system",
                                                  "popen", "import_module"):
                out.append((tok.string, tok.start[0]))
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                            tokenize.DEDENT):
            prev = tok
    return out


def test_sources_were_found():
    assert len(SOURCES) > 20
    assert any(p.name == "links.py" for p in SOURCES)


def test_no_pickle_eval_exec_outside_the_allow_list():
    found = []
    for path in SOURCES:
        rel = path.relative_to(ROOT).as_posix()
        for name, line in _uses(path):
            if (rel, name) not in ALLOWED:
                found.append(f"{rel}:{line}: {name}")
    assert not found, "code-running names outside the allow-list:\n" + "\n".join(found)


def test_the_scanner_catches_what_it_should(tmp_path):
    """The scan itself is tested: it flags eval/pickle/yaml and ignores comments/strings."""
    probe = tmp_path / "probe.py"
    probe.write_text("import pickle\nx = eval(text)\n# eval(in a comment)\ns = 'exec(no)'\n"
                     "import yaml\nyaml.load(f)\nre.compile('x')\nnp.load(p, allow_pickle=True)\n")
    names = [n for n, _ in _uses(probe)]
    assert names == ["pickle", "eval", "yaml", "yaml", "allow_pickle"]


def test_eval_globals_have_no_builtins():
    """What eval'd link expressions can reach: math functions, no builtins, no modules."""
    import types

    from xpsfit.engine.structure import EXPR_GLOBALS as _GLOBALS
    assert _GLOBALS["__builtins__"] == {}
    assert set(_GLOBALS) - {"__builtins__"} <= {"sqrt", "exp", "log", "log10", "sin", "cos",
                                                "tan", "abs", "arctan", "pi", "min", "max"}
    assert not any(isinstance(v, types.ModuleType) for v in _GLOBALS.values())


# --------------------------------------------------------------------------------------------
# hostile link and prior expressions

SPECIES = {"PS4": "PS4", "S2-": "S2-", "polysulfide": "polysulfide", "S0": "S0"}


def hostile_links(marker: Path) -> list[str]:
    cmd = f"touch {marker}"
    return [
        f"fwhm(PS4) = __import__('os').system('{cmd}')",
        f"fwhm(PS4) = fwhm(S0) + __import__('os').system('{cmd}')",
        f"__import__('os').system('{cmd}') = fwhm(PS4)",
        f"fwhm(__import__('os').system('{cmd}')) = fwhm(PS4)",
        f"fwhm(PS4) = (lambda: __import__('os').system('{cmd}'))()",
        "fwhm(PS4) = ().__class__.__bases__[0].__subclasses__()",
        "fwhm(PS4) = fwhm(S0).__class__",
        f"fwhm(PS4) = eval(\"__import__('os').system('{cmd}')\")",
        f"fwhm(PS4) = exec(\"import os; os.system('{cmd}')\")",
        "fwhm(PS4) = [x for x in (1, 2)]",
        "fwhm(PS4) = (y := 3)",
        "fwhm(PS4) = 9 ** 9 ** 9 ** 9",
        "fwhm(PS4) = f'{1}'",
        "fwhm(PS4) = __builtins__",
        "fwhm(PS4) = open('/etc/passwd')",
        "fwhm(PS4) = fwhm(S0) if 1 else 0",
        "fwhm(PS4) = " + "(" * 5000 + "1" + ")" * 5000,
        "fwhm(PS4) = " + "+".join(["fwhm(S0)"] * 500),
        "fwhm(PS4) = 1e400 * fwhm(S0)",
        "fwhm(PS4) = fwhm(S0); import os",
        "fwhm(PS4) = fwhm(S0)\nimport os",
    ]


def hostile_side(text: str) -> str:
    """The side of a hostile link that carries the payload (for prior targets)."""
    left, right = text.split("=", 1)
    return left if right.strip() == "fwhm(PS4)" else right


def test_hostile_links_are_refused_by_the_parser(tmp_path):
    marker = tmp_path / "PWNED"
    for text in hostile_links(marker):
        with pytest.raises(RecipeError) as info:
            parse_link(text, SPECIES)
        assert "\n" not in str(info.value)
        with pytest.raises(RecipeError):
            parse_expression(hostile_side(text), SPECIES)
    assert not marker.exists()


def test_legitimate_links_still_parse():
    target, expr = parse_link("area(S2-) = 0.25 * area(PS4)", SPECIES)
    assert "PS4" in expr and "0.25" in expr and target.endswith("area")


def _recipe_text(links: list[str] | None = None, prior: str | None = None) -> str:
    import tomli_w

    import tomllib
    data = tomllib.loads((EXAMPLES / "s2p_sulfide.toml").read_text("utf-8"))
    data["library"] = "sulfide_electrolytes"
    if links is not None:
        data["links"] = links
    if prior is not None:
        data["priors"] = [{"target": prior, "value": 0.9, "sigma": 0.1}]
    return tomli_w.dumps(data)


def test_hostile_links_and_priors_through_load_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    path = tmp_path / "hostile.toml"
    for text in hostile_links(marker):
        path.write_text(_recipe_text(links=[text]), encoding="utf-8")
        with pytest.raises(RecipeError) as info:
            xpsfit.load_recipe(path)
        assert str(path) in str(info.value) and "[links]" in str(info.value)
        path.write_text(_recipe_text(prior=hostile_side(text)), encoding="utf-8")
        with pytest.raises(RecipeError):
            xpsfit.load_recipe(path)
    assert not marker.exists()


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xpsfit", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_hostile_link_through_cli_recipe_check_and_fit(tmp_path):
    marker = tmp_path / "PWNED"
    recipe = tmp_path / "hostile.toml"
    recipe.write_text(_recipe_text(links=[f"fwhm(PS4) = __import__('os').system('touch "
                                          f"{marker}')"]), encoding="utf-8")
    for args in (["recipe", "check", str(recipe)],
                 ["fit", str(EXAMPLES / "controls.vms"), "--select", "0", "-r", str(recipe),
                  "--table", str(tmp_path / "t.csv")]):
        proc = _run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        lines = [s for s in proc.stderr.splitlines() if s.strip()]
        assert len(lines) == 1 and str(recipe) in lines[0] and "[links]" in lines[0], lines
    assert not marker.exists()
    assert not (tmp_path / "t.csv").exists()


def test_recipe_fields_are_never_executed(tmp_path, monkeypatch):
    """Code placed in other text fields (species, description, library) is just text."""
    import tomllib
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    code = f"__import__('os').system('touch {marker}')"
    data = tomllib.loads(_recipe_text())
    data["description"] = code
    recipe = xpsfit.recipe_from_dict(data)
    assert recipe.description == code
    for key, value in (("library", code), ("region", code), ("lineshape", code)):
        with pytest.raises((RecipeError, xpsfit.LibraryError)):
            xpsfit.recipe_from_dict(dict(data, **{key: value}))
    bad = dict(data)
    bad["components"] = [dict(data["components"][0], species=code)]
    with pytest.raises((RecipeError, xpsfit.LibraryError)):
        xpsfit.recipe_from_dict(bad)
    assert not marker.exists()
