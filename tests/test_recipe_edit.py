"""Recipe edits as pure functions (xpsfit.recipe.edit, issue 13 items 1–3): add / delete /
duplicate / rename components, links in CasaXPS vocabulary, fix at fitted value, range and
background — each validated like a TOML file, the input never changed, the TOML round trip exact."""
import numpy as np
import pytest

import xpsfit
from xpsfit.errors import RecipeError
from xpsfit.recipe.spec import recipe_from_dict, recipe_to_toml
from xpsfit.spectrum import make_spectrum

from realdata import EXAMPLES
from synth_xps import pseudo_voigt

S2P = EXAMPLES / "s2p_sulfide.toml"


@pytest.fixture
def s2p():
    return xpsfit.load_recipe(S2P)


def _reload(recipe, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(recipe_to_toml(recipe), encoding="utf-8")
    return xpsfit.load_recipe(path)


def test_add_free_and_second_library_component(s2p, tmp_path):
    before = recipe_to_toml(s2p)
    r = xpsfit.add_component(s2p, "sat", position=166.0, fwhm=[0.8, 2.0], label="satellite")
    r = xpsfit.add_component(r, "PS4_b", species="PS4", position=162.3)
    assert recipe_to_toml(s2p) == before                       # input untouched
    sat, ps4b = r.components[-2:]
    assert sat.free and sat.label == "satellite" and sat.window == (165.0, 167.0)
    assert sat.doublet is False
    assert ps4b.library_species == "PS4" and ps4b.position == 162.3 and ps4b.doublet
    assert _reload(r, tmp_path) == r
    with pytest.raises(RecipeError, match="appears twice"):
        xpsfit.add_component(r, "sat", position=168.0)
    with pytest.raises(RecipeError, match="outside the recipe range"):
        xpsfit.add_component(s2p, "far", position=190.0)
    # a free doublet in a p region gets Δ and the 2p ratio
    d = xpsfit.add_component(s2p, "dbl", position=164.0, splitting=1.18)
    assert d.components[-1].doublet and d.components[-1].ratio == 0.5


def test_delete_duplicate_rename_carry_links_and_priors(s2p):
    r = xpsfit.set_link(s2p, "S0", "fwhm", "A*1.2")
    r = xpsfit.set_prior(r, "position(S0) - position(PS4)", 1.5, 0.2)
    first = r.components[0].species
    assert f"fwhm(S0) = fwhm({first}) * 1.2" in r.links
    renamed = xpsfit.rename_component(r, first, "main", label="main line")
    assert renamed.components[0].species == "main"
    assert renamed.components[0].library_species == first
    assert renamed.components[0].label == "main line"
    assert "fwhm(S0) = fwhm(main) * 1.2" in renamed.links
    assert [p.target for p in renamed.priors][-1] == "position(S0) - position(main)"
    dup = xpsfit.duplicate_component(renamed, "S0")
    assert [c.species for c in dup.components].index("S0_2") == \
        [c.species for c in dup.components].index("S0") + 1
    assert dup.components[[c.species for c in dup.components].index("S0_2")].position == \
        renamed.component("S0").position
    gone = xpsfit.delete_component(dup, "main")
    assert "main" not in [c.species for c in gone.components]
    assert not any("main" in t for t in gone.links)
    assert [p.target for p in gone.priors] == [p.target for p in s2p.priors]
    with pytest.raises(RecipeError, match="no component 'nope'"):
        xpsfit.rename_component(s2p, "nope", "x")
    with pytest.raises(RecipeError, match="parentheses"):
        xpsfit.rename_component(s2p, "S0", "S(0)")
    single = s2p
    for c in s2p.components[1:]:
        single = xpsfit.delete_component(single, c.species)
    with pytest.raises(RecipeError, match="at least one component"):
        xpsfit.delete_component(single, single.components[0].species)


@pytest.mark.parametrize("typed, expected", [
    ("A*0.5", "area(S0) = area({a}) * 0.5"),
    ("b+1.18", "area(S0) = area({b}) + 1.18"),
    ("A", "area(S0) = area({a})"),
    ("0.25 * area(PS4)", "area(S0) = 0.25 * area(PS4)"),
    ("120", "area(S0) = 120"),
])
def test_casa_vocabulary_becomes_expression_links(s2p, typed, expected):
    a, b = s2p.components[0].species, s2p.components[1].species
    r = xpsfit.set_link(s2p, "S0", "area", typed)
    assert expected.format(a=a, b=b) in r.links
    assert xpsfit.link_of(r, "S0", "area") == expected.format(a=a, b=b).split("= ", 1)[1]
    assert xpsfit.set_link(r, "S0", "area", "").links == s2p.links   # empty removes it


@pytest.mark.parametrize("typed, message", [
    ("Z*2", "no row Z"), ("A**2", "cannot read link"), ("area(S0)", "its own target"),
    ("2 * fwhm(nothing)", "unknown species"), ("A*0.5; import os", "cannot read link"),
])
def test_bad_links_are_one_line_errors(s2p, typed, message):
    with pytest.raises(RecipeError, match=message) as exc:
        xpsfit.set_link(s2p, "S0", "area", typed)
    assert "\n" not in exc.value.one_line() and str(S2P) in exc.value.one_line()


def test_range_and_background_edits_validate(s2p):
    r = xpsfit.set_range(s2p, 171.0, 157.5)
    assert r.range == (157.5, 171.0)
    with pytest.raises(RecipeError, match="outside the recipe range"):
        xpsfit.set_range(s2p, 150.0, 158.0)
    assert xpsfit.set_range(s2p, None).range is None
    assert xpsfit.default_range(s2p) == s2p.library.region("S 2p").default_range
    t = xpsfit.set_background(s2p, type="tougaard", tougaard_B=2000.0, tougaard_C=1000.0,
                              tougaard_fit_B=False)
    assert (t.background.type, t.background.tougaard_B, t.background.tougaard_fit_B) == \
        ("tougaard", 2000.0, False)
    with pytest.raises(RecipeError, match="endpoints"):
        xpsfit.set_background(s2p, endpoints=0)
    with pytest.raises(RecipeError, match="unknown background"):
        xpsfit.set_background(s2p, type="magic")


def _two_peaks():
    be = np.linspace(700.0, 725.0, 501)
    rng = np.random.default_rng(3)
    y = 200 + pseudo_voigt(be, 5000.0, 710.0, 1.6, 0.3) + pseudo_voigt(be, 2500.0, 715.5, 3.0, 0.3)
    return make_spectrum(be, rng.poisson(y).astype(float), region="X 2p")


def test_added_satellite_lowers_chi2_and_fix_at_fitted_holds(tmp_path):
    sp = _two_peaks()
    base = recipe_from_dict({"region": "X 2p", "lineshape": "pseudo_voigt", "shape": {"eta": 0.3},
                             "background": {"type": "linear"},
                             "components": [{"name": "main", "position": 710.3}]})
    one = xpsfit.fit(sp, base)
    two_recipe = xpsfit.add_component(base, "sat", position=715.0, window=[713.0, 717.0],
                                      fwhm=[1.0, 6.0])
    two = xpsfit.fit(sp, two_recipe)
    assert two.statistics.redchi < 0.2 * one.statistics.redchi
    assert abs(two.component("sat").position - 715.5) < 0.1
    assert abs(two.component("sat").area / two.component("main").area - 0.5) < 0.05
    fixed = xpsfit.fix_at_fitted(two_recipe, two, "sat")
    again = xpsfit.fit(sp, fixed)
    assert again.component("sat").position == pytest.approx(two.component("sat").position,
                                                            abs=1e-9)
    assert again.component("sat").fwhm == pytest.approx(two.component("sat").fwhm, abs=1e-9)
    # the saved TOML reproduces the fit headless
    loaded = _reload(fixed, tmp_path)
    headless = xpsfit.fit(sp, loaded)
    assert headless.statistics.redchi == pytest.approx(again.statistics.redchi, rel=1e-9)


def test_fixed_is_a_link_not_a_micro_window(s2p, tmp_path):
    r = xpsfit.set_fixed(s2p, "S0", True)
    s0 = r.component("S0")
    assert xpsfit.is_fixed(r, "S0") and not xpsfit.is_fixed(s2p, "S0")
    assert s0.window == s2p.component("S0").window and not s0.fwhm_vary
    assert f"position(S0) = {s0.position!r}" in recipe_to_toml(r)
    assert _reload(r, tmp_path) == r
    back = xpsfit.set_fixed(r, "S0", False)
    assert not xpsfit.is_fixed(back, "S0") and back.component("S0").fwhm_vary
    assert back.links == s2p.links


def test_start_recipe_takes_range_and_shape_from_the_library():
    r = xpsfit.start_recipe("sulfide_electrolytes", "S 2p", lineshape="pseudo_voigt")
    lib = xpsfit.load_library("sulfide_electrolytes").region("S 2p")
    assert r.range == lib.default_range and r.range is not None
    assert [c.species for c in r.components] == list(lib.species)
    assert "eta" in r.shape
    with pytest.raises(xpsfit.LibraryError, match="unknown region"):
        xpsfit.start_recipe("sulfide_electrolytes", "Q 9z")


def test_priors_as_typed_and_component_shapes(s2p):
    r = xpsfit.set_prior_text(s2p, "position(S0) - position(PS4) = 2.1 ± 0.2")
    p = r.priors[-1]
    assert (p.target, p.value, p.sigma) == ("position(S0) - position(PS4)", 2.1, 0.2)
    assert xpsfit.set_prior_text(r, "position(S0) - position(PS4) =").priors == s2p.priors
    assert xpsfit.set_prior_text(s2p, "fwhm(S0) = 1.2 +/- 0.1").priors[-1].sigma == 0.1
    with pytest.raises(RecipeError, match="cannot read prior"):
        xpsfit.set_prior_text(s2p, "fwhm(S0) ~ 1")
    with pytest.raises(RecipeError, match="unknown species"):
        xpsfit.set_prior_text(s2p, "fwhm(nothing) = 1 ± 0.1")
    with pytest.raises(RecipeError, match="sigma"):
        xpsfit.set_prior_text(s2p, "fwhm(S0) = 1 ± 0")
    assert xpsfit.shape_text(s2p, "S0") == "eta=0.2"
    shaped = xpsfit.set_shape(s2p, "S0", "0.45")
    assert shaped.component("S0").shape == {"eta": 0.45}
    assert xpsfit.shape_text(shaped, "S0") == "eta=0.45"
    assert xpsfit.set_shape(shaped, "S0", "").component("S0").shape == {}
    with pytest.raises(RecipeError, match="outside"):
        xpsfit.set_shape(s2p, "S0", "eta=1.5")
    with pytest.raises(RecipeError, match="no shape parameter 'm'"):
        xpsfit.set_shape(s2p, "S0", "m=0.3")


def test_per_component_shape_vary_recovers_each_eta(tmp_path):
    """Two lines of different Lorentzian fraction (known truth η = 0.1 and 0.7): each component
    fitting its own η finds its own; the recipe-wide shared η cannot, and held η is held.
    Background "none" over a flat 2 counts: a static one through the end points would take
    the Lorentzian tails and bias η."""
    be = np.linspace(700.0, 725.0, 1001)
    rng = np.random.default_rng(7)
    y = 2.0 + pseudo_voigt(be, 40000.0, 708.0, 1.5, 0.1) + pseudo_voigt(be, 30000.0, 716.0,
                                                                        2.0, 0.7)
    sp = make_spectrum(be, rng.poisson(y).astype(float), region="X 2p")
    base = recipe_from_dict({"region": "X 2p", "lineshape": "pseudo_voigt",
                             "shape": {"eta": 0.4}, "background": {"type": "none"},
                             "components": [{"name": "a", "position": 708.2},
                                            {"name": "b", "position": 715.8,
                                             "window": [714.0, 718.0]}]})
    own = xpsfit.set_shape_vary(xpsfit.set_shape_vary(base, "a", True), "b", True)
    assert xpsfit.shape_varies(own, "a") and not xpsfit.shape_varies(base, "a")
    res = xpsfit.fit(sp, own)
    eta_a = res.parameters[res.component("a").parameters["eta"]]
    eta_b = res.parameters[res.component("b").parameters["eta"]]
    assert abs(eta_a.value - 0.1) < 3 * eta_a.stderr + 0.02
    assert abs(eta_b.value - 0.7) < 3 * eta_b.stderr + 0.02
    assert res.statistics.redchi < 1.3
    shared = xpsfit.fit(sp, recipe_from_dict(recipe_to_dict_with(base, shape_vary=True)))
    assert shared.statistics.redchi > 1.5 * res.statistics.redchi
    # held: the start value stays; the recipe's rule returns with None
    held = xpsfit.set_shape(xpsfit.set_shape_vary(own, "b", False), "b", "0.5")
    r2 = xpsfit.fit(sp, held)
    assert r2.parameters[r2.component("b").parameters["eta"]].value == 0.5
    assert xpsfit.set_shape_vary(own, "a", None).component("a").shape_vary is None
    assert 'shape_vary = true' in recipe_to_toml(own)
    assert _reload(own, tmp_path) == own


def test_component_lineshape_edit(s2p):
    r = xpsfit.set_lineshape(xpsfit.set_shape(s2p, "S0", "0.45"), "S0", "gl_sum")
    assert xpsfit.component_lineshape(r, "S0") == "gl_sum"
    assert r.component("S0").shape == {}          # eta is no parameter of gl_sum
    assert xpsfit.component_lineshape(xpsfit.set_lineshape(r, "S0", ""), "S0") == s2p.lineshape
    with pytest.raises(RecipeError, match="unknown line shape 'lorentz'"):
        xpsfit.set_lineshape(s2p, "S0", "lorentz")


def recipe_to_dict_with(recipe, **top):
    from xpsfit.recipe.spec import recipe_to_dict
    return recipe_to_dict(recipe) | top
