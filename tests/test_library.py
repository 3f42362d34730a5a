"""Peak libraries: built-ins validate and hold the reference values; user libraries extend them;
every invalid input is one LibraryError line with file, key path and line."""
import subprocess
import sys
import textwrap

import pytest

from realdata import ROOT
from xpsfit.cli import main as cli_main

from xpsfit.errors import LibraryError
from xpsfit.recipe.library import find_line, list_libraries, load_library
from xpsfit.spectrum import region_key


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_builtins_are_listed_and_all_validate():
    names = list_libraries()
    assert {"sulfide_electrolytes", "common"} <= set(names)
    for name in names:
        lib = load_library(name)
        assert lib.name == name and lib.regions
        for region in lib.regions.values():
            assert region.species, f"{name}/{region.name} has no species"
            for sp in region.species.values():
                assert sp.window[0] <= sp.position <= sp.window[1]
                assert 0 < sp.fwhm[0] < sp.fwhm[1]
                assert sp.references, f"{name}/{region.name}/{sp.key} has no reference"
                assert sp.confidence


@pytest.mark.parametrize("region, key, position, window", [
    ("S 2p", "PS4", 161.6, (161.2, 162.0)),
    ("S 2p", "S2-", 160.1, (159.6, 160.9)),
    ("S 2p", "polysulfide", 163.1, (162.5, 163.8)),
    ("S 2p", "S0", 164.0, (163.7, 164.6)),
    ("S 2p", "SO3", 166.8, (165.8, 167.8)),
    ("S 2p", "SO4", 169.0, (168.2, 170.0)),
    ("P 2p", "PS4", 132.0, (131.6, 132.4)),
    ("P 2p", "P2Sx", 133.1, (132.5, 133.7)),
    ("P 2p", "POx", 133.9, (133.3, 134.8)),
    ("C 1s", "C-C", 284.8, (284.5, 285.2)),
])
def test_sulfide_library_holds_reference_values(region, key, position, window):
    sp = load_library("sulfide_electrolytes").region(region).get(key)
    assert sp.position == position and sp.window == window


def test_doublet_constants_of_the_reference():
    lib = load_library("sulfide_electrolytes")
    s, p, cl = lib.region("S 2p"), lib.region("P 2p"), lib.region("Cl 2p")
    assert (s.doublet, s.splitting, s.ratio) == (True, 1.18, 0.5)
    assert (p.splitting, p.ratio, cl.splitting) == (0.87, 0.5, 1.60)
    assert not lib.region("C 1s").doublet
    assert lib.region("O 1s").sensitivity_factor == 2.93
    assert s.get("PS4").label == "PS₄³⁻"
    # the C-C reference carries a confirmed source
    assert "C" in lib.region("C 1s").get("C-C").confidence


def test_region_matching_and_aliases():
    lib = load_library("sulfide_electrolytes")
    assert lib.region("s2p").name == "S 2p"
    assert lib.region("S 2p3/2").name == "S 2p"
    s = lib.region("S 2p")
    assert s.get("SOx").key == "SO4"
    assert s.get("sulfate").key == "SO4"
    assert s.get("li2s").key == "S2-"          # case-insensitive alias
    assert s.get("ps4").key == "PS4"


def test_unknown_region_and_species_list_choices():
    lib = load_library("sulfide_electrolytes")
    with pytest.raises(LibraryError, match=r"unknown region 'Fe 2p'.*valid: S 2p, P 2p"):
        lib.region("Fe 2p")
    with pytest.raises(LibraryError, match=r"unknown species 'S6'.*PS4.*S0"):
        lib.region("S 2p").get("S6")


def test_common_library_covers_the_requested_lines():
    lib = load_library("common")
    doublets = ["Au 4f", "Ag 3d", "Ti 2p", "Sr 3d", "Bi 4f", "W 4f", "Mo 3d", "Si 2p", "Fe 2p",
                "Ni 2p", "Pt 4f", "Sn 3d", "Cu 2p", "Zn 2p", "Ta 4f", "Ga 2p"]
    for name in doublets:
        r = lib.region(name)
        assert r.doublet and r.splitting > 0, name
        # (2j+1) branching: p 1/2, d 2/3, f 3/4
        expected = {"p": 0.5, "d": 2 / 3, "f": 0.75}[name[-1]]
        assert r.ratio == pytest.approx(expected, abs=1e-3), name
    for name in ["C 1s", "O 1s", "N 1s", "F 1s"]:
        assert not lib.region(name).doublet
    assert lib.region("Au 4f").get("Au0").position == 84.0
    assert lib.region("Au 4f").splitting == 3.67


def test_unknown_library_lists_builtins():
    with pytest.raises(LibraryError, match="unknown library 'nope'.*common.*sulfide_electrolytes"):
        load_library("nope")
    with pytest.raises(LibraryError, match="file not found"):
        load_library("/no/such/lib.toml")


def test_user_library_extends_builtin(tmp_path):
    path = write(tmp_path, "mine.toml", """
        name = "mine"
        extends = "sulfide_electrolytes"
        [regions."S 2p".species.S0]
        window = [163.6, 164.8]
        [regions."S 2p".species.Li2S2]
        label = "Li₂S₂"
        position = 161.9
        window = [161.6, 162.3]
        fwhm = [0.6, 1.6]
        references = [{citation = "my own measurement", year = 2025, confidence = "U"}]
        [regions."Li 1s"]
        [regions."Li 1s".species.Li]
        position = 55.5
        window = [55.0, 56.0]
        fwhm = [0.8, 2.0]
    """)
    lib = load_library(path)
    assert lib.name == "mine" and lib.extends == "sulfide_electrolytes"
    s = lib.region("S 2p")
    assert s.get("S0").window == (163.6, 164.8)
    assert s.get("S0").position == 164.0 and s.get("S0").label == "S⁰"   # kept from the parent
    assert s.get("Li2S2").references[0].year == 2025
    assert s.splitting == 1.18 and "PS4" in s.species
    assert lib.region("Li 1s").get("Li").position == 55.5
    assert lib.region("P 2p").get("POx").position == 133.9


def test_user_library_extends_a_relative_path(tmp_path):
    write(tmp_path, "base.toml", """
        name = "base"
        [regions."Au 4f"]
        doublet = true
        splitting = 3.67
        ratio = 0.75
        [regions."Au 4f".species.Au0]
        position = 84.0
        window = [83.7, 84.3]
        fwhm = [0.4, 1.5]
    """)
    sub = tmp_path / "sub"
    sub.mkdir()
    path = write(sub, "child.toml", """
        extends = "../base.toml"
        [regions."Au 4f"]
        ratio_sigma = 0.02
    """)
    lib = load_library(path)
    assert lib.name == "child"
    assert lib.region("au4f").ratio_sigma == 0.02
    assert lib.region("au4f").get("Au0").position == 84.0


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(LibraryError, match="cycle"):
        load_library(tmp_path / "a.toml")


def test_empty_window_error_names_file_key_and_line(tmp_path):
    path = write(tmp_path, "my.toml", """
        name = "my"
        [regions."S 2p"]
        doublet = true
        splitting = 1.18
        [regions."S 2p".species.S0]
        position = 164.3
        window = [164.5, 164.2]
        fwhm = [0.7, 2.0]
    """)
    with pytest.raises(LibraryError) as err:
        load_library(path)
    line = str(err.value)
    assert line == (f'{path}:8 [regions."S 2p".species.S0.window]: window (164.5, 164.2) is '
                    "empty (low > high)")
    assert "\n" not in line


@pytest.mark.parametrize("species_body, fragment, key", [
    ("position = 165.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]",
     "excludes the start position 165", "window"),
    ("position = \"164\"\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]",
     "expected a number, got text", "position"),
    ("position = 164.0\nwindow = 0.3\nfwhm = [0.7, 2.0]", "window must be [low, high]",
     "window"),
    ("position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.0, 2.0]", "must be > 0", "fwhm"),
    ("position = 164.0\nwindow = [163.7, 164.6]", "needs 'fwhm'", None),
    ("position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]\nlineshape = \"lorentz\"",
     "unknown line shape 'lorentz'; valid: pseudo_voigt", "lineshape"),
    ("position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]\ncolour = \"red\"",
     "unknown key 'colour'; valid: label, position", "colour"),
    ("position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]\n"
     "references = [{citation = \"x\", confidence = \"maybe\"}]",
     "unknown confidence tag 'maybe'", "confidence"),
    ("position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]\naliases = [\"PS4\"]",
     "already used by species PS4", None),
])
def test_species_errors(tmp_path, species_body, fragment, key):
    text = ('[regions."S 2p"]\ndoublet = true\nsplitting = 1.18\n'
            '[regions."S 2p".species.PS4]\nposition = 161.6\nwindow = [161.2, 162.0]\n'
            'fwhm = [0.6, 1.5]\n'
            '[regions."S 2p".species.S0]\n' + species_body + "\n")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LibraryError) as err:
        load_library(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and fragment in msg
    if key:
        assert f"{key}]" in msg
        # the reported line really holds that key
        lineno = err.value.line
        assert lineno is not None and key in text.splitlines()[lineno - 1]


@pytest.mark.parametrize("region_body, fragment", [
    ("doublet = true", "needs 'splitting'"),
    ("doublet = \"yes\"\nsplitting = 1.0", "expected true or false"),
    ("splitting = 1.0", "not a doublet"),
    ("doublet = true\nsplitting = -1.0", "must be > 0"),
    ("doublet = true\nsplitting = 1.0\nratio = 5.0", "implausible"),
    ("default_range = [171.0, 157.0]", "default_range (171, 157) is empty"),
    ("default_range = [100.0, 110.0]", "outside the region's default_range"),
])
def test_region_errors(tmp_path, region_body, fragment):
    path = tmp_path / "bad.toml"
    path.write_text('[regions."S 2p"]\n' + region_body + '\n[regions."S 2p".species.S0]\n'
                    'position = 164.0\nwindow = [163.7, 164.6]\nfwhm = [0.7, 2.0]\n',
                    encoding="utf-8")
    with pytest.raises(LibraryError, match=__import__("re").escape(fragment)):
        load_library(path)


def test_toml_syntax_error_has_line_number(tmp_path):
    path = write(tmp_path, "syntax.toml", """
        name = "x"
        [regions."S 2p"]
        doublet = tru
    """)
    with pytest.raises(LibraryError) as err:
        load_library(path)
    assert err.value.line == 4
    assert str(err.value).startswith(f"{path}:4: TOML syntax error")


def test_duplicate_region_spellings_refused(tmp_path):
    path = write(tmp_path, "dup.toml", """
        [regions."S 2p".species.A]
        position = 1.0
        window = [0.5, 1.5]
        fwhm = [0.5, 1.5]
        [regions.S2p.species.B]
        position = 1.0
        window = [0.5, 1.5]
        fwhm = [0.5, 1.5]
    """)
    with pytest.raises(LibraryError, match="defined twice"):
        load_library(path)


def test_find_line_follows_tables_and_arrays():
    text = textwrap.dedent("""\
        region = "S 2p"
        [[components]]
        species = "PS4"
        fwhm = [0.6, 1.5]
        [[components]]
        species = "S0"
        fwhm = [2.0, 1.0]
        """)
    assert find_line(text, ("components", 1, "fwhm")) == 7
    assert find_line(text, ("components", 0, "fwhm")) == 4
    assert find_line(text, ("region",)) == 1


def test_region_key_contract_used_for_matching():
    assert region_key("Cl 2p") == region_key("cl2p")
    assert load_library("sulfide_electrolytes").region("CL 2P").name == "Cl 2p"


# --------------------------------------------------------------------------- CLI

def test_cli_library_listing_subprocess():
    out = subprocess.run([sys.executable, "-m", "xpsfit", "library", "sulfide_electrolytes",
                          "--region", "S 2p"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    ps4 = next(line for line in lines if line.strip().startswith("PS4"))
    assert "161.60" in ps4 and "161.2-162" in ps4 and "PS₄³⁻" in ps4
    assert any("[L] Auvergniot" in line for line in lines)
    assert "Δ 1.18 eV" in lines[0]


def test_cli_library_overview_and_regions(capsys):
    assert cli_main(["library"]) == 0
    out = capsys.readouterr().out
    assert "sulfide_electrolytes" in out and "common" in out
    assert cli_main(["library", "common"]) == 0
    out = capsys.readouterr().out
    assert "Au 4f" in out and "Δ 3.67 eV" in out


def test_cli_library_errors_exit_2(capsys, tmp_path):
    assert cli_main(["library", "sulfide_electrolytes", "--region", "Zz 9q"]) == 2
    err = capsys.readouterr().err
    assert "unknown region 'Zz 9q'" in err and err.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[regions\n", encoding="utf-8")
    assert cli_main(["library", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: TOML syntax error" in err
