"""Recipes with components that are not in a library (issue 13 item 1, core part): free
singlets and doublets, a library species twice under distinct names, TOML round trip, one-line
errors, and a real fit of a library-less recipe against known truth."""
import textwrap

import numpy as np
import pytest

import xpsfit
from xpsfit.errors import RecipeError
from xpsfit.recipe.spec import load_recipe, recipe_from_dict, recipe_to_toml
from xpsfit.spectrum import make_spectrum

from synth_xps import pseudo_voigt

FE2P = textwrap.dedent("""\
    region = "Fe 2p"
    library = "common"
    lineshape = "gl_sum"
    shape = {m = 0.3}
    range = [700.0, 740.0]
    links = ["fwhm(Fe2p_sat1) = 2 * fwhm(Fe2+)"]
    [[components]]
    species = "Fe2+"
    [[components]]
    species = "Fe2+"
    name = "Fe2+_b"
    position = 711.5
    window = [711.0, 712.5]
    [[components]]
    name = "Fe2p_sat1"
    label = "Fe²⁺ satellite"
    position = 715.0
    fwhm = [2.0, 6.0]
    splitting = 13.6
    [[components]]
    name = "Fe2p_sat2"
    position = 719.0
    fwhm = 3.0
    """)


def load(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    return load_recipe(path)


def test_free_and_renamed_components_resolve(tmp_path):
    r = load(tmp_path, FE2P)
    keys = [c.species for c in r.components]
    assert keys == ["Fe2+", "Fe2+_b", "Fe2p_sat1", "Fe2p_sat2"]
    lib_fe2 = r.library.region("Fe 2p").get("Fe2+")
    base, renamed, sat1, sat2 = r.components
    assert not base.free and base.library_species == ""
    assert not renamed.free and renamed.library_species == "Fe2+"
    assert renamed.position == 711.5 and renamed.fwhm_bounds == tuple(lib_fe2.fwhm)
    assert sat1.free and sat1.doublet and sat1.splitting == 13.6
    assert sat1.ratio == 0.5                     # 2p: 2l/(2l+2)
    assert sat1.splitting_sigma is None and sat1.ratio_sigma is None
    assert sat1.label == "Fe²⁺ satellite" and sat1.fwhm_bounds == (2.0, 6.0)
    assert sat1.window == (714.0, 716.0)         # default ± 1 eV
    assert sat2.free and not sat2.doublet and not sat2.fwhm_vary and sat2.fwhm == 3.0
    assert r.link_pairs() == [("Fe2p_sat1_fwhm", "2 * Fe2p_fwhm")]


def test_free_components_round_trip_through_toml(tmp_path):
    r = load(tmp_path, FE2P)
    text = recipe_to_toml(r)
    assert 'name = "Fe2p_sat1"' in text and 'name = "Fe2+_b"' in text
    again = load(tmp_path, text)
    assert again == r
    assert [c.free for c in again.components] == [False, False, True, True]


def test_library_less_recipe_round_trips_and_keeps_tougaard_u3(tmp_path):
    data = {"region": "X 3d", "lineshape": "gl_product",
            "background": {"type": "tougaard", "tougaard_B": 335.4, "tougaard_C": 551.0,
                           "tougaard_C_prime": -1.0, "tougaard_D": 436.0},
            "components": [{"name": "a", "position": 100.0, "splitting": 2.0, "ratio": 0.66,
                            "ratio_sigma": 0.02}]}
    r = recipe_from_dict(data)
    assert r.library_name == "" and r.region == "X 3d"
    assert r.components[0].ratio == 0.66 and r.components[0].ratio_sigma == 0.02
    text = recipe_to_toml(r)
    assert "no library" in text and "\nlibrary =" not in text
    again = load(tmp_path, text)
    assert again == r
    assert (again.background.tougaard_C_prime, again.background.tougaard_D) == (-1.0, 436.0)


@pytest.mark.parametrize("comps, fragment", [
    ([{"name": "a"}], "free component 'a' needs a 'position'"),
    ([{"position": 100.0}], "needs 'species' (a library key"),
    ([{"name": "a", "position": 100.0}, {"name": "a", "position": 101.0}],
     "component a appears twice"),
    ([{"name": "C 1s_1", "position": 100.0}, {"name": "C 1s 1", "position": 101.0}],
     "give the same parameter names"),
    ([{"name": "a(b)", "position": 100.0}], "may not contain parentheses"),
    ([{"name": "a", "position": 100.0, "ratio": 0.5}], "'ratio' given without 'splitting'"),
    ([{"name": "a", "position": 100.0, "splitting": 1.0}], "needs a 'ratio'"),   # 1s: no default
    ([{"name": "a", "position": 100.0, "window": [101.0, 102.0]}], "excludes the start"),
])
def test_free_component_errors_are_one_line(comps, fragment):
    with pytest.raises(RecipeError) as info:
        recipe_from_dict({"region": "C 1s", "components": comps}, source="r.toml")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value) and "r.toml" in str(info.value)


def test_fit_of_free_components_recovers_truth():
    """Three free C 1s singlets on a flat background, one linked width: positions within 0.02 eV
    and fractions within 0.01 of the truth (Poisson noise at ~2e4 counts peak)."""
    truth = {"C-C": (284.8, 1.1, 30000.0), "C-O": (286.3, 1.1, 12000.0),
             "O-C=O": (288.9, 1.3, 6000.0)}
    x = np.linspace(280.0, 294.0, 281)
    clean = 200.0 + sum(pseudo_voigt(x, a, e, f, 0.2) for e, f, a in truth.values())
    y = np.random.default_rng(3).poisson(clean).astype(float)
    spectrum = make_spectrum(x, y, region="C 1s", source_file="synthetic")
    recipe = recipe_from_dict({
        "region": "C 1s", "shape": {"eta": 0.2}, "background": {"type": "linear"},
        "links": ["fwhm(C-O) = fwhm(C-C)"],
        "components": [{"name": k, "position": e + 0.2, "fwhm": [0.6, 2.0]}
                       for k, (e, f, a) in truth.items()]})
    result = xpsfit.fit(spectrum, recipe)
    assert result.success
    total = sum(a for *_, a in truth.values())
    for c in result.components:
        e, f, a = truth[c.species]
        assert abs(c.position - e) < 0.02
        assert abs(c.fraction - a / total) < 0.01
