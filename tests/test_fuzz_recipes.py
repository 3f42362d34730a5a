"""Fuzzed recipes and libraries: only RecipeError / LibraryError, or a valid object.

Hypothesis takes the shipped recipes (example_spectra/*.toml) and built-in libraries as raw TOML
data, replaces, deletes or adds a value at a random key path (wrong types, NaN/inf, absurd
windows, huge strings, nested junk) and feeds the result to ``recipe_from_dict`` /
``library_from_dict``; byte-level mutations of the TOML files go through ``load_recipe``.
Accepted recipes must hold only finite, ordered numbers and survive a TOML round trip.
"""
from __future__ import annotations

import copy
import importlib.util
import math
import random
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realdata import EXAMPLES, ROOT
from xpsfit.errors import LibraryError, RecipeError
from xpsfit.recipe.library import Library, library_from_dict, list_libraries, load_library
from xpsfit.recipe.spec import Recipe, load_recipe, recipe_from_dict, recipe_to_toml

_spec = importlib.util.spec_from_file_location("xpsfit_tools_fuzz", ROOT / "tools" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

RECIPE_FILES = sorted(EXAMPLES.glob("*.toml"))
RECIPES = {p.name: tomllib.loads(p.read_text("utf-8")) for p in RECIPE_FILES}
LIBRARY_FILES = sorted((ROOT / "peak_libraries").glob("*.toml"))
LIBRARIES = {p.name: tomllib.loads(p.read_text("utf-8")) for p in LIBRARY_FILES}

SETTINGS = settings(derandomize=True, deadline=None, database=None, max_examples=120,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, -1.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", " ", "x" * 100_000, "__import__('os').system('touch PWNED')",
                     "S 2p", "PS4", "shirley", "pseudo_voigt", "fwhm(PS4) = 2 * fwhm(S0)",
                     "position(PS4) = position(S0) + 1e308", "\x00", "../../etc/passwd"]),
    st.lists(st.sampled_from([1, -1, 0.5, math.nan, math.inf, "a", None, 1e308]), max_size=4),
    st.dictionaries(st.sampled_from(["x", "species", "value", "sigma", "type", "window"]),
                    st.sampled_from([1, "PS4", math.nan, [1, 2], {}]), max_size=3),
).filter(lambda v: v is not None)  # TOML has no null; None stands for "delete the key" below


def _paths(data, prefix=()):
    """Every key path into nested dicts/lists (the places a mutation can hit)."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


def _apply(data, path, action: str, value):
    out = copy.deepcopy(data)
    if not path:
        return out if action != "replace" else {"region": value}
    parent = out
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "add_key" and isinstance(parent[last], dict):
        parent[last]["unexpected_" + str(len(parent[last]))] = value
    elif action == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value
    return out


@st.composite
def mutated(draw, sources: dict):
    name = draw(st.sampled_from(sorted(sources)))
    data = sources[name]
    out = data
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(out))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add_key", "wrap"]))
        if action == "delete" and not path:
            action = "replace"
        out = _apply(out, path, action, draw(HOSTILE))
    return name, out


def _assert_one_line(exc: Exception) -> None:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    assert len(text) < 1000, f"message is {len(text)} characters long: {text[:200]}..."


def _finite_pair(pair) -> None:
    lo, hi = pair
    assert math.isfinite(lo) and math.isfinite(hi) and lo < hi, pair


def assert_valid_recipe(recipe: Recipe) -> None:
    if recipe.range is not None:
        _finite_pair(recipe.range)
    assert recipe.components
    for c in recipe.components:
        _finite_pair(c.window)
        lo_f, hi_f = c.fwhm_bounds
        assert math.isfinite(lo_f) and math.isfinite(hi_f) and 0 < lo_f <= hi_f
        assert math.isfinite(c.position) and math.isfinite(c.fwhm)
        assert all(math.isfinite(v) for v in c.shape.values())
    assert all(math.isfinite(v) for v in recipe.shape.values())
    for p in recipe.priors:
        assert math.isfinite(p.value) and math.isfinite(p.sigma) and p.sigma > 0
    _finite_pair(recipe.series.shift_bounds)
    # what was accepted must be writable and read back to the same recipe
    again = recipe_from_dict(tomllib.loads(recipe_to_toml(recipe)))
    assert again == recipe


@SETTINGS
@given(case=mutated(RECIPES))
def test_mutated_recipe_data_gives_recipe_error_or_valid_recipe(case):
    _, data = case
    try:
        recipe = recipe_from_dict(data)
    except (RecipeError, LibraryError) as exc:
        _assert_one_line(exc)
        return
    assert_valid_recipe(recipe)


def assert_valid_library(lib: Library) -> None:
    assert lib.regions
    for region in lib.regions.values():
        assert math.isfinite(region.splitting) and math.isfinite(region.ratio)
        for sp in region.species.values():
            assert math.isfinite(sp.position)
            _finite_pair(sp.window)
            assert 0 < sp.fwhm[0] <= sp.fwhm[1] and math.isfinite(sp.fwhm[1])


@SETTINGS
@given(case=mutated(LIBRARIES))
def test_mutated_library_data_gives_library_error_or_valid_library(case):
    _, data = case
    try:
        lib = library_from_dict(data)
    except LibraryError as exc:
        _assert_one_line(exc)
        return
    assert_valid_library(lib)


@settings(SETTINGS, max_examples=60)
@given(name=st.sampled_from([p.name for p in RECIPE_FILES]),
       mutator=st.sampled_from(["truncate", "flip_bytes", "delete_lines", "duplicate_lines",
                                "huge_numbers", "negative_numbers", "bad_numbers", "utf16",
                                "latin1_text", "long_line", "splice", "empty", "garbage"]),
       rng_seed=st.integers(0, 2 ** 32 - 1))
def test_mutated_recipe_files_give_recipe_error_or_valid_recipe(tmp_path_factory, name, mutator,
                                                                  rng_seed):
    folder = tmp_path_factory.mktemp("recipe")
    path = folder / name
    data = fuzz.MUTATORS[mutator]((EXAMPLES / name).read_bytes(), random.Random(rng_seed))
    path.write_bytes(data)
    try:
        recipe = load_recipe(path)
    except (RecipeError, LibraryError) as exc:
        _assert_one_line(exc)
        assert str(path) in str(exc) or isinstance(exc, LibraryError)
        return
    assert_valid_recipe(recipe)


# --------------------------------------------------------------------------------------------
# targeted cases

@pytest.mark.parametrize("window", [[1e308, -1e308], [-1e308, 1e308], [171, 157], [math.nan, 1],
                                    [0, math.inf], 1e308, -0.4, math.nan, "wide", [1, 2, 3]])
def test_absurd_component_windows(window):
    data = copy.deepcopy(RECIPES["s2p_sulfide.toml"])
    data["components"][0]["window"] = window
    try:
        recipe = recipe_from_dict(data)
    except RecipeError as exc:
        _assert_one_line(exc)
        assert "window" in str(exc)
        return
    assert_valid_recipe(recipe)


@pytest.mark.parametrize("rng", [[171, 157], [157, 157], [math.nan, 171], [0, 1], "157-171",
                                 [157, 171, 180], [True, 171]])
def test_absurd_ranges(rng):
    data = copy.deepcopy(RECIPES["s2p_sulfide.toml"])
    data["range"] = rng
    with pytest.raises(RecipeError, match=r"\[range\]") as info:
        recipe_from_dict(data)
    _assert_one_line(info.value)


@pytest.mark.parametrize("rng", [[-1e308, 1e308], [0, 1e6], [-5000, 171]])
def test_a_range_beyond_physical_energies_is_refused_naming_the_limit(rng):
    """Issue 18: ``range = [0, 1e6]`` used to be accepted silently (it was once legal as
    "everything"); a range now lies within the documented binding-energy limits."""
    data = copy.deepcopy(RECIPES["s2p_sulfide.toml"])
    data["range"] = rng
    with pytest.raises(RecipeError, match=r"\[range\].*outside the limits -50\.\.20000 eV"):
        recipe_from_dict(data)


def test_huge_strings_give_short_messages():
    data = copy.deepcopy(RECIPES["s2p_sulfide.toml"])
    huge = "y" * 1_000_000
    for key, value in [("region", huge), ("library", huge), ("lineshape", huge),
                       (huge, 1)]:
        bad = dict(data, **{key: value})
        with pytest.raises((RecipeError, LibraryError)) as info:
            recipe_from_dict(bad)
        _assert_one_line(info.value)
    bad = copy.deepcopy(data)
    bad["components"][0]["species"] = huge
    with pytest.raises((RecipeError, LibraryError)) as info:
        recipe_from_dict(bad)
    _assert_one_line(info.value)


def test_recipe_that_is_not_a_table_at_all():
    for data in ([], "recipe", 3, None, [{"region": "S 2p"}]):
        with pytest.raises(RecipeError):
            recipe_from_dict(data)


def test_library_that_is_not_a_table_at_all():
    for data in ([], "lib", 3, None):
        with pytest.raises(LibraryError):
            library_from_dict(data)


def test_builtin_libraries_are_valid():
    names = list_libraries()
    assert names
    for name in names:
        assert_valid_library(load_library(name))


@pytest.mark.parametrize("name", ["y" * 100_000, "a\x00b", "lib/\x00.toml", "x" * 5000 + ".toml"])
def test_hostile_library_names_are_library_errors(name):
    """Regression: a 100 000-character library name escaped as OSError (File name too long)
    from Path.is_file, and a NUL byte as ValueError."""
    with pytest.raises(LibraryError) as info:
        load_library(name)
    _assert_one_line(info.value)
    data = dict(copy.deepcopy(RECIPES["s2p_sulfide.toml"]), library=name)
    with pytest.raises((RecipeError, LibraryError)) as info:
        recipe_from_dict(data)
    _assert_one_line(info.value)


def test_recipe_path_with_nul_byte_is_a_recipe_error():
    with pytest.raises(RecipeError, match="NUL"):
        load_recipe("bad\x00name.toml")


def test_error_messages_elide_megabyte_tokens_but_keep_both_ends():
    """Regression: a hostile key or value was copied whole into the 'one-line' message."""
    exc = RecipeError(f"unknown key {'k' * 1_000_000!r}; valid: region, library",
                      path="r.toml", line=3, key="z" * 10_000)
    text = str(exc)
    assert len(text) < 1000
    assert text.startswith("r.toml:3 [zzz") and text.endswith("valid: region, library")
    assert exc.message.startswith("unknown key 'kkk")  # the raw message stays available
