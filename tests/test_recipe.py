"""Fit recipes: the examples load, recipes round-trip through TOML, every bad input is one
RecipeError line with file/key/line, recipe vs spectrum checks, and the `xpsfit recipe` CLI."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import xpsfit
from xpsfit.errors import FitError, LibraryError, RecipeError
from xpsfit.recipe import (check_range, check_region, load_recipe, recipe_from_dict,
                           recipe_to_toml)
from xpsfit.spectrum import make_spectrum

from realdata import EXAMPLES, ROOT, real_file

BASE = textwrap.dedent("""\
    region = "S 2p"
    library = "sulfide_electrolytes"
    lineshape = "pseudo_voigt"
    range = [157.0, 171.0]
    [background]
    type = "shirley"
    [[components]]
    species = "PS4"
    window = 0.4
    fwhm = [0.6, 1.8]
    [[components]]
    species = "S0"
    """)


def write(tmp_path, text, name="recipe.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def roundtrip(recipe):
    import tomllib
    return recipe_from_dict(tomllib.loads(recipe_to_toml(recipe)))


# --------------------------------------------------------------------------- loading, resolving

def test_issue_example_resolves_against_library(tmp_path):
    r = load_recipe(write(tmp_path, BASE))
    ps4, s0 = r.components
    assert (ps4.species, ps4.position, ps4.window) == ("PS4", 161.6, (161.2, 162.0))
    assert ps4.window == pytest.approx((161.6 - 0.4, 161.6 + 0.4))
    assert ps4.fwhm_bounds == (0.6, 1.8) and ps4.fwhm_vary and ps4.fwhm == pytest.approx(1.2)
    assert s0.window == (163.7, 164.6) and s0.fwhm_bounds == (0.7, 2.0)   # library values
    assert s0.doublet and s0.splitting == 1.18 and s0.ratio == 0.5
    assert s0.splitting_sigma is None and s0.label == "S⁰"
    assert r.background.type == "shirley" and r.background.endpoints == 5
    assert r.series.shared == ["position", "fwhm"]   # "shape" only when shape_vary
    assert r.component("S8") is s0 and r.component("ps4") is ps4


@pytest.mark.parametrize("name, species", [
    ("s2p_sulfide.toml", ["PS4", "S2-", "polysulfide", "S0"]),
    ("p2p_sulfide.toml", ["PS4", "P2Sx", "POx"]),
])
def test_example_recipes_load_and_round_trip(name, species):
    r = load_recipe(EXAMPLES / name)
    assert [c.species for c in r.components] == species
    assert r.shape == {"eta": 0.2} and r.background.type == "shirley_active"
    assert r.series.shift == "per_spectrum" and r.series.shift_bounds == (-1.0, 1.0)
    assert roundtrip(r) == r


def test_example_ranges_and_links_match_the_example_series():
    s2p, p2p = load_recipe(EXAMPLES / "s2p_sulfide.toml"), load_recipe(EXAMPLES / "p2p_sulfide.toml")
    assert s2p.range == (157.0, 171.0) and p2p.range == (127.0, 138.0)
    assert s2p.link_pairs() == [("S2m_fwhm", "PS4_fwhm")]       # lattice species share FWHM
    assert p2p.link_pairs() == [("POx_fwhm", "P2Sx_fwhm")]      # decomposition products too
    assert s2p.prior_exprs() == [("S0_position - polysulfide_position", 0.9, 0.1)]
    assert s2p.components[0].splitting == 1.18 and p2p.components[0].splitting == 0.87


def test_full_featured_recipe_round_trips(tmp_path):
    text = BASE.replace('lineshape = "pseudo_voigt"', textwrap.dedent("""\
        description = "all the options"
        lineshape = "gl_product"
        shape = {m = 0.3}
        shape_vary = true
        links = ["fwhm(S0) = fwhm(PS4)", "area(S2-) = 0.25 * area(PS4)"]""")) + textwrap.dedent("""\
        fwhm = 1.3
        splitting_sigma = 0.02
        ratio = 0.51
        lineshape = "voigt"
        area = 100.0
        [[components]]
        species = "sulfide"
        position = 160.2
        window = [159.8, 160.6]
        fwhm = [0.6, 1.5]
        fwhm_start = 0.9
        label = "Li₂S"
        shape = {m = 0.5}
        [[priors]]
        target = "position(S0) - position(PS4)"
        value = 2.4
        sigma = 0.1
        [charge_reference]
        region = "P 2p"
        species = "thiophosphate"
        energy = 132.0
        [series]
        shared = ["position", "fwhm"]
        shift = "none"
        shift_bounds = [-0.5, 0.5]
        """)
    r = load_recipe(write(tmp_path, text))
    s0, s2 = r.component("S0"), r.component("S2-")
    assert (s0.fwhm, s0.fwhm_vary, s0.splitting_sigma, s0.ratio) == (1.3, False, 0.02, 0.51)
    assert s0.fwhm_bounds[0] < 1.3 < s0.fwhm_bounds[1]
    assert s0.lineshape == "voigt" and s0.area == 100.0
    assert (s2.label, s2.position, s2.fwhm, s2.shape) == ("Li₂S", 160.2, 0.9, {"m": 0.5})
    assert r.charge_reference.species == "PS4" and r.charge_reference.region == "P 2p"
    assert r.link_pairs()[1] == ("S2m_area", "0.25 * PS4_area")
    assert r.series.shift == "none" and r.shape_vary and r.description == "all the options"
    back = roundtrip(r)
    assert back == r
    # writing again gives the same text: the format is stable
    assert recipe_to_toml(back) == recipe_to_toml(r)


def test_library_given_as_relative_path(tmp_path):
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "mine.toml").write_text(textwrap.dedent("""\
        extends = "sulfide_electrolytes"
        [regions."S 2p".species.S0]
        position = 164.3
        """), encoding="utf-8")
    r = load_recipe(write(tmp_path, BASE.replace('"sulfide_electrolytes"', '"libs/mine.toml"')))
    assert r.component("S0").position == 164.3


def test_library_default_lineshape_is_kept(tmp_path):
    r = load_recipe(write(tmp_path, textwrap.dedent("""\
        region = "C 1s"
        library = "sulfide_electrolytes"
        [[components]]
        species = "sp2"
        [[components]]
        species = "adventitious"
        """)))
    assert r.component("sp2").lineshape == "la"
    assert r.component("C-C").lineshape is None and not r.component("C-C").doublet
    assert r.range is None
    assert roundtrip(r) == r


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("old, new, fragment, key", [
    ('species = "S0"', 'species = "S9"', "unknown species 'S9' in region S 2p; valid: PS4", "species"),
    ('region = "S 2p"', 'region = "Q 9z"', "unknown region 'Q 9z'", "region"),
    ('lineshape = "pseudo_voigt"', 'lineshape = "lorentzian"',
     "unknown line shape 'lorentzian'; valid: pseudo_voigt, gl_product", "lineshape"),
    ('type = "shirley"', 'type = "spline"',
     "unknown background 'spline'; valid: shirley, shirley_active, tougaard, linear, none", "type"),
    ('window = 0.4', 'window = "wide"', "window must be [low, high]", "window"),
    ('window = 0.4', 'window = [161.8, 162.4]', "excludes the start position 161.6", "window"),
    ('window = 0.4', 'window = [162.0, 161.0]', "window (162, 161) is empty", "window"),
    ('fwhm = [0.6, 1.8]', 'fwhm = [1.8, 0.6]', "fwhm bounds (1.8, 0.6) is empty", "fwhm"),
    ('fwhm = [0.6, 1.8]', 'fwhm = -1', "must be > 0", "fwhm"),
    ('range = [157.0, 171.0]', 'range = [171.0, 157.0]', "range (171, 157) is empty", "range"),
    ('range = [157.0, 171.0]', 'range = [150.0, 160.0]', "lies outside the recipe range", "range"),
    ('range = [157.0, 171.0]', 'range = 157', "range must be [low, high]", "range"),
    ('species = "S0"', 'species = "PS4"', "appears twice", "species"),
    ('species = "S0"', 'species = 3', "expected text, got an integer", "species"),
    ('window = 0.4', 'windw = 0.4', "unknown key 'windw'; valid: species, label", "windw"),
    ('[background]', 'backgruond = 1\n[background]', "unknown key 'backgruond'", "backgruond"),
    ('type = "shirley"', 'type = "shirley"\nendpoints = 0', "must be >= 1", "endpoints"),
    ('type = "shirley"', 'type = "shirley"\nendpoints = 2.5', "expected an integer", "endpoints"),
    ('lineshape = "pseudo_voigt"', 'lineshape = "pseudo_voigt"\nshape = {m = 0.3}',
     "has no shape parameter 'm'; valid: eta", "m"),
    ('lineshape = "pseudo_voigt"', 'lineshape = "pseudo_voigt"\nshape = {eta = 3.0}',
     "outside", "eta"),
    ('lineshape = "pseudo_voigt"', 'lineshape = "pseudo_voigt"\nshape_vary = "yes"',
     "expected true or false", "shape_vary"),
])
def test_recipe_errors_are_one_line_with_file_key_and_line(tmp_path, old, new, fragment, key):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path))
    assert fragment in msg
    assert err.value.key is not None and key in err.value.key
    assert err.value.line is not None and key in text.splitlines()[err.value.line - 1]


@pytest.mark.parametrize("extra, fragment", [
    ('links = ["fwhm(S0) = __import__(\'os\').system(\'echo hacked\')"]', "unknown quantity"),
    ('links = ["fwhm(S0) = fwhm(S2-)"]', "unknown species 'S2-'"),
    ('links = ["fwhm(S0) = fwhm(PS4)", "fwhm(S0) = 1.0"]', "sets the same parameter"),
    ('links = "fwhm(S0) = fwhm(PS4)"', "expected a list of text"),
    ('[[priors]]\ntarget = "position(S0).real"\nvalue = 1\nsigma = 0.1', "not allowed"),
    ('[[priors]]\ntarget = "position(S0)"\nvalue = 1\nsigma = 0', "must be > 0"),
    ('[[priors]]\ntarget = "position(S0)"\nvalue = 1', "'sigma' missing"),
    ('[charge_reference]\nregion = "C 1s"\nspecies = "C-X"\nenergy = 284.8', "unknown species 'C-X'"),
    ('[charge_reference]\nregion = "C 1s"\nspecies = "C-C"', "'energy' missing"),
    ('[series]\nshared = ["area"]', "cannot share 'area'"),
    ('[series]\nshift = "rigid"', "unknown shift mode 'rigid'"),
    ('[series]\nshift_bounds = [0.5, 1.0]', "must contain 0"),
])
def test_links_priors_charge_reference_series_errors(tmp_path, extra, fragment):
    if extra.startswith("links"):
        text = extra + "\n" + BASE
    else:
        text = BASE + extra + "\n"
    with pytest.raises(RecipeError, match=__import__("re").escape(fragment)):
        load_recipe(write(tmp_path, text))


def test_missing_pieces(tmp_path):
    with pytest.raises(RecipeError, match="needs 'library'"):
        recipe_from_dict({"region": "S 2p"})
    with pytest.raises(RecipeError, match="at least one .*species in S 2p: PS4"):
        recipe_from_dict({"region": "S 2p", "library": "sulfide_electrolytes"})
    with pytest.raises(RecipeError, match="needs 'species'"):
        recipe_from_dict({"region": "S 2p", "library": "sulfide_electrolytes",
                          "components": [{"position": 161.6}]})
    with pytest.raises(RecipeError, match="unknown library 'nope'"):
        recipe_from_dict({"region": "S 2p", "library": "nope", "components": [{"species": "PS4"}]})


def test_broken_user_library_is_blamed_on_the_library_file(tmp_path):
    lib = write(tmp_path, '[regions."S 2p".species.X]\nposition = 1\n', "lib.toml")
    with pytest.raises(LibraryError) as err:
        load_recipe(write(tmp_path, BASE.replace('"sulfide_electrolytes"', '"lib.toml"')))
    assert err.value.path == str(lib) and "needs 'window'" in str(err.value)


def test_toml_syntax_error_gives_line(tmp_path):
    path = write(tmp_path, BASE.replace("window = 0.4", "window = 0.4.1"))
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert err.value.line == 9 and "TOML syntax error" in str(err.value)


def test_missing_or_binary_file(tmp_path):
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "none.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecipeError, match="not UTF-8"):
        load_recipe(bad)


def test_component_lookup_error_lists_components(tmp_path):
    r = load_recipe(write(tmp_path, BASE))
    with pytest.raises(RecipeError, match="no component 'SOx'.*components: PS4, S0"):
        r.component("SOx")


# --------------------------------------------------------------------------- recipe vs spectrum

def synthetic(region="S 2p", lo=157.0, hi=171.0, step=0.1):
    be = np.arange(lo, hi + step / 2, step)
    return make_spectrum(be, np.full(be.size, 100.0), region=region, path="synthetic.vms",
                         block=2)


def test_check_region_matches_fills_in_and_refuses(tmp_path):
    r = load_recipe(write(tmp_path, BASE))
    s = synthetic(region="s2p3/2")
    assert check_region(r, s) is s
    plain = synthetic(region="")
    plain.attrs["region"] = ""
    filled = check_region(r, plain)
    assert filled.attrs["region"] == "S 2p" and plain.attrs["region"] == ""
    with pytest.raises(FitError) as err:
        check_region(r, synthetic(region="C 1s"))
    assert "'C 1s' does not match the recipe region 'S 2p'" in str(err.value)
    assert str(err.value).startswith("synthetic.vms block 2")


def test_check_range_inside_outside_and_default(tmp_path):
    r = load_recipe(write(tmp_path, BASE))
    assert check_range(r, synthetic()) == (157.0, 171.0)
    # partly outside: clipped to the data (the fit warns, naming the range used)
    assert check_range(r, synthetic(lo=158.0)) == pytest.approx((158.0, 171.0))
    r.range = (180.0, 190.0)
    with pytest.raises(FitError, match=r"range \(180, 190\) eV holds no data"):
        check_range(r, synthetic(lo=158.0))
    r.range = (157.0, 171.0)
    r.range = None
    assert check_range(r, synthetic(lo=150.0, hi=175.0)) == pytest.approx((150.0, 175.0))
    r.range = (160.0, 160.3)
    with pytest.raises(FitError, match="only 4 data points"):
        check_range(r, synthetic())


def test_checks_on_a_real_s2p_spectrum():
    path = real_file("lg4x-v2/Mutlipak_vms.npl")
    spectra = xpsfit.read(path)
    s2p = next(s for s in spectra if s.attrs["region"] == "S 2p")
    r = recipe_from_dict({"region": "S 2p", "library": "common", "range": [156.0, 172.0],
                          "components": [{"species": "MoS2"}, {"species": "SOx"}]})
    assert [c.species for c in r.components] == ["sulfide", "sulfate"]
    assert check_region(r, s2p) is s2p
    assert check_range(r, s2p) == (156.0, 172.0)
    mo = next(s for s in spectra if s.attrs["region"] == "Mo 3d")
    with pytest.raises(FitError, match="'Mo 3d' does not match"):
        check_region(r, mo)


# --------------------------------------------------------------------------- CLI

def cli(*args):
    """The real command in a subprocess (exit code, stderr exactly as a user sees them)."""
    return subprocess.run([sys.executable, "-m", "xpsfit", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def main(capsys, *args):
    """The same command in-process (fast): (exit code, stdout, stderr)."""
    from xpsfit.cli import main as xpsfit_main
    code = xpsfit_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_recipe_init_writes_a_loadable_recipe(tmp_path):
    out = cli("recipe", "init", "--library", "sulfide_electrolytes", "--region", "p2p",
              "--species", "PS4", "phosphate", "--background", "linear")
    assert out.returncode == 0, out.stderr
    path = write(tmp_path, out.stdout)
    r = load_recipe(path)
    assert [c.species for c in r.components] == ["PS4", "POx"]
    assert r.region == "P 2p" and r.background.type == "linear" and r.range == (127.0, 138.0)


def test_cli_recipe_init_all_species_by_default(capsys):
    code, out, _ = main(capsys, "recipe", "init", "--region", "S 2p")
    assert code == 0
    for key in ("PS4", "S2-", "polysulfide", "S0", "SO3", "SO4"):
        assert f'species = "{key}"' in out


def test_cli_recipe_check_summary(capsys):
    code, out, _ = main(capsys, "recipe", "check", str(EXAMPLES / "s2p_sulfide.toml"))
    assert code == 0
    assert "4 components" in out and "S2m_fwhm = PS4_fwhm" in out
    assert "position(S0) - position(polysulfide) = 0.9 ± 0.1" in out


def test_cli_recipe_check_error_is_one_line_exit_2(tmp_path):
    bad = write(tmp_path, BASE.replace('species = "S0"', 'species = "S9"'))
    out = cli("recipe", "check", str(bad))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "unknown species 'S9'" in out.stderr and f"{bad}:" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("args, fragment", [
    (("recipe", "init", "--region", "S 2p", "--lineshape", "nope"), "unknown line shape 'nope'"),
    (("recipe", "init", "--region", "S 2p", "--species", "S9"), "unknown species 'S9'"),
    (("recipe", "init", "--region", "S 2p", "--background", "spline"), "unknown background"),
    (("recipe", "init", "--library", "nope", "--region", "S 2p"), "unknown library 'nope'"),
    (("recipe", "check", "/no/such/recipe.toml"), "file not found"),
])
def test_cli_recipe_errors(capsys, args, fragment):
    code, out, err = main(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("xpsfit: error: ") and fragment in err and err.count("\n") == 1
