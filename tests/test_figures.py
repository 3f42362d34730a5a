"""Publication figures, judged by their content: print size in cm, fonts ≥ 7 pt, panel order,
BE decreasing to the right, chemical labels, no overlapping text, error bars within 0–100 %,
vector output, and the study report PDF."""
import itertools
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.text import Text

import xpsfit
from realdata import EXAMPLES
from series_data import example_series
from xpsfit.export.plots import CM, MIN_FONT_PT, clipped_errors, fit_figure, save_figure, species_colour
from xpsfit.recipe.spec import load_recipe
from xpsfit.fitting.series import fit_series
from xpsfit.export.figures import composition_chart_figure, singles_figure, study_figure

KEYS = ("PS4", "S2-", "S0", "polysulfide", "P2Sx", "POx")


@pytest.fixture(scope="module")
def s2p():
    return [fit_series(*example_series(f, "S 2p")) for f in ("cnf_series.vms", "kb_series.vms")]


@pytest.fixture(scope="module")
def fig3(s2p):
    return study_figure(s2p)


@pytest.fixture(scope="module")
def controls():
    out = []
    for region, rec in (("S 2p", "s2p_sulfide.toml"), ("P 2p", "p2p_sulfide.toml")):
        spectra = [s for s in xpsfit.read(EXAMPLES / "controls.vms")
                   if s.attrs["region"] == region]
        out.append(fit_series(spectra, load_recipe(EXAMPLES / rec), mode="independent"))
    return out


def drawn_texts(fig):
    """(Text, window bbox) of every text a reader sees."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        if any(not a.get_visible() for a in _ancestors(t)):
            continue
        out.append((t, t.get_window_extent(renderer)))
    return out


def _ancestors(artist):
    a = artist.axes
    return [a] if a is not None else []


def assert_print_quality(fig, width_cm):
    w, h = fig.get_size_inches() / CM
    assert w == pytest.approx(width_cm, abs=0.01)
    texts = drawn_texts(fig)
    assert texts
    fig_box = fig.bbox
    for t, box in texts:
        assert t.get_fontsize() >= MIN_FONT_PT, (t.get_text(), t.get_fontsize())
        # nothing cut off at the page edge (1 px tolerance)
        assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1, t.get_text()
        assert box.y0 >= fig_box.y0 - 1 and box.y1 <= fig_box.y1 + 1, t.get_text()
    for (a, ba), (b, bb) in itertools.combinations(texts, 2):
        overlap_x = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        overlap_y = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        assert not (overlap_x > 0.5 and overlap_y > 0.5), \
            f"{a.get_text()!r} overlaps {b.get_text()!r}"
    return [t.get_text() for t, _ in texts]


def fit_axes(fig):
    """Axes with a BE abscissa (the fit and residual panels)."""
    return [ax for ax in fig.findobj(lambda a: hasattr(a, "get_xlim") and hasattr(a, "lines"))
            if ax.get_visible() and ax.get_xlim()[0] > 150]


def test_study_figure_is_fig3(s2p, fig3):
    fig = fig3
    words = assert_print_quality(fig, 17.8)
    # chemical labels, never recipe keys, wherever a person reads
    for label in ("PS₄³⁻", "S²⁻", "S⁰", "Sₙ²⁻ / P–S–P"):
        assert label in words
    assert not set(KEYS) & {w for text in words for w in re.split(r"[\s:(),]+", text)}
    assert "cnf_series" not in " ".join(words) and "vms" not in " ".join(words)
    # columns: CNF fits | composition chart | KB fits, left to right
    subs = fig.subfigs
    titles = [s._suptitle.get_text() for s in subs]
    assert titles == ["CNF", "S 2p composition", "KB"]
    xs = [s.bbox.x0 for s in subs]
    assert xs == sorted(xs)
    # rows: states top to bottom in series order, BE decreasing to the right in every panel
    for sub, res in ((subs[0], s2p[0]), (subs[2], s2p[1])):
        axes = [a for a in sub.axes if a.get_visible()]
        assert len(axes) == 5
        tops = [a.get_position().y1 for a in axes]
        assert tops == sorted(tops, reverse=True)
        for ax, label in zip(axes, res.labels):
            lo, hi = ax.get_xlim()
            assert lo > hi and lo == pytest.approx(171.0, abs=0.2)
            assert any(t.get_text() == label for t in ax.texts)
    # onsets named in the panel where the species appears (truth: KB 3.8 V, CNF 4.3 V)
    kb = [a for a in subs[2].axes]
    cnf = [a for a in subs[0].axes]
    assert any(t.get_text() == "S⁰ appears" for t in kb[2].texts)
    assert not any("appears" in t.get_text() for t in kb[1].texts)
    assert any(t.get_text() == "S⁰ appears" for t in cnf[4].texts)
    # one composition chart holding both electrodes, first state on top, 0–100 %
    (chart,) = subs[1].axes
    assert chart.get_xlim() == (0.0, 100.0)
    y0, y1 = chart.get_ylim()
    assert y0 > y1                               # inverted: pristine at the top
    ticks = [t.get_text() for t in chart.get_yticklabels()]
    assert ticks.count("CNF") == 5 and ticks.count("KB") == 5


def _error_segments(ax):
    segs = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]
    assert segs, "no error bars drawn"
    return np.concatenate(segs)


def test_error_bars_never_above_100_percent(s2p, fig3):
    fig = fig3
    chart = fig.subfigs[1].axes[0]
    pts = _error_segments(chart)
    assert pts[:, 0].max() <= 100.0 + 1e-9 and pts[:, 0].min() >= -1e-9
    # the top segment's edge is 100 %: its bar is drawn, one-sided
    assert np.isclose(pts[:, 0], 100.0).any()
    # a segment whose species the presence test rejects is hatched, every other one plain
    hatched = [p for p in chart.patches if p.get_hatch()]
    assert len(hatched) == sum(not t.present for s in s2p for t in s.presence) > 0
    assert "not detected" in [t.get_text() for t in fig.legends[0].get_texts()]
    vertical = composition_chart_figure(s2p[1]).axes[0]
    assert vertical.get_xlim() == (0.0, 100.0)


def test_clipped_errors_cut_at_the_physical_range():
    err = clipped_errors(np.array([99.0, 50.0, 1.0]), np.array([3.0, 2.0, np.nan]))
    assert err.tolist() == [[3.0, 2.0, 0.0], [1.0, 2.0, 0.0]]


def test_single_column_preset_keeps_7pt_and_no_overlap(s2p):
    fig = study_figure(s2p, size="single")
    assert_print_quality(fig, 8.5)


def test_residual_panels_are_optional(s2p, fig3):
    plain = fig3
    with_res = study_figure(s2p, residuals=True)
    assert len(fit_axes(with_res)) == 2 * len(fit_axes(plain)) == 20
    assert_print_quality(with_res, 17.8)


def test_p2p_figure_is_fig_s13():
    series = [fit_series(*example_series(f, "P 2p")) for f in ("cnf_series.vms",
                                                                "kb_series.vms")]
    fig = study_figure(series)
    words = assert_print_quality(fig, 17.8)
    assert {"PS₄³⁻", "P₂Sₓ", "POₓ"} <= set(words)
    assert fig.subfigs[1]._suptitle.get_text() == "P 2p composition"
    kb = fig.subfigs[2].axes
    assert any(t.get_text() == "POₓ appears" for t in kb[3].texts)   # truth: 4.0 V with KB


def test_controls_figure_is_fig4_with_verdicts(controls):
    fig = singles_figure(controls)
    words = assert_print_quality(fig, 17.8)
    assert [s._suptitle.get_text() for s in fig.subfigs] == ["S 2p", "P 2p"]
    assert [t for t in words if t.endswith("4.3 V")][:3] == [
        "NMC+SE 4.3 V", "MnO2+SE+CNF 4.3 V", "MnO2+SE+KB 4.3 V"]
    # truth: polysulfide present, S0 absent in every control
    assert sum(w.startswith("S⁰: not detected (< ") for w in words) == 3
    assert sum(bool(re.match(r"Sₙ²⁻ / P–S–P: \d+\.\d ± \d+\.\d %$", w)) for w in words) == 3


def test_single_fit_legend_keeps_off_the_data(s2p):
    r = s2p[1].results[3]
    fig = fit_figure(r)
    words = assert_print_quality(fig, 8.5)
    assert "Shirley background" in words and "background (shirley_active)" not in words
    ax, rax = fig.axes
    assert ax.get_xlim()[0] > ax.get_xlim()[1]
    assert "binding energy" in rax.get_xlabel()
    (legend,) = fig.legends
    lb, ab = legend.get_window_extent(), ax.get_window_extent()
    assert lb.y1 <= rax.get_window_extent().y0 + 1 and lb.y1 < ab.y0   # below every panel
    assert {"PS₄³⁻", "S²⁻", "data", "envelope"} <= {t.get_text() for t in legend.get_texts()}


def test_vector_and_raster_output(s2p, tmp_path):
    fig = fit_figure(s2p[0].results[0])
    save_figure(fig, tmp_path / "f.svg")
    save_figure(fig, tmp_path / "f.pdf")
    save_figure(fig, tmp_path / "f.png", dpi=200)
    svg = (tmp_path / "f.svg").read_text(encoding="utf-8")
    assert "<text" in svg and "PS₄³⁻" in svg and "<image" not in svg   # text stays text
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" not in pdf
    assert b"FontFile2" in pdf                                     # TrueType embedded
    from matplotlib.image import imread
    h, w = imread(tmp_path / "f.png").shape[:2]
    wi, hi = fig.get_size_inches()
    assert (w, h) == (round(wi * 200), round(hi * 200))
    with pytest.raises(xpsfit.ExportError, match="unknown figure size"):
        study_figure(s2p, size="poster")
    with pytest.raises(xpsfit.ExportError, match="dpi"):
        save_figure(fig, tmp_path / "g.png", dpi=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png", "f.svg"]


def test_species_colours_are_one_colour_blind_safe_source():
    s2p_colours = [species_colour(k) for k in ("PS4", "S2-", "polysulfide", "S0")]
    p2p_colours = [species_colour(k) for k in ("PS4", "P2Sx", "POx")]
    assert len(set(s2p_colours)) == 4 and len(set(p2p_colours)) == 3
    okabe_ito = {"#0072B2", "#009E73", "#E69F00", "#CC79A7", "#D55E00", "#56B4E9"}
    assert set(s2p_colours + p2p_colours) <= okabe_ito
    assert species_colour("made-up") == species_colour("made-up")
    assert xpsfit.species_colour is species_colour


def test_report_pdf_has_figure_tables_onsets_verdicts_recipe(s2p, tmp_path):
    from xpsfit.export.report import report_text, write_report
    lines = report_text(s2p, ["CNF", "KB"], title="S 2p: CNF vs KB")
    text = "\n".join(lines)
    assert f"xpsfit {xpsfit.__version__}" in text
    assert re.search(r"^pristine\s+77\.\d ± \d\.\d", text, re.M)    # composition with σ
    assert "n.d. < " in text                                      # S0 at pristine
    assert "KB: S⁰: appears at 3.8 V (F = " in text
    assert "CNF: PS₄³⁻: present throughout, pristine to 4.3 V" in text
    assert "fit verdicts (joint mode)" in text and "reduced χ²" in text
    assert 'region = "S 2p"' in text and "[background]" in text  # the recipe
    assert max(len(line) for line in lines) <= 112
    path = tmp_path / "r.pdf"
    write_report(path, s2p, ["CNF", "KB"])
    pdf = path.read_bytes()
    boxes = re.findall(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert len(boxes) >= 3
    assert float(boxes[0][0]) / 72 * 2.54 == pytest.approx(17.8, abs=0.01)   # the figure
    assert float(boxes[1][0]) / 72 * 2.54 == pytest.approx(21.0, abs=0.01)   # A4 text
    with pytest.raises(xpsfit.ExportError, match="multi-page PDF"):
        write_report(tmp_path / "r.png", s2p)
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]


def test_flagged_fit_is_marked_in_the_figure(s2p):
    import dataclasses
    bad = dataclasses.replace(s2p[0].results[2], flags=["S0 at a bound"])
    series = dataclasses.replace(s2p[0], results=[*s2p[0].results[:2], bad,
                                                  *s2p[0].results[3:]])
    fig = study_figure([series, s2p[1]])
    cnf = fig.subfigs[0].axes
    assert any(t.get_text() == "fit flagged: see report" for t in cnf[2].texts)
    assert not any("flagged" in t.get_text() for ax in cnf[:2] for t in ax.texts)


_BAD = [(["--plot", "f.jpg"], "--plot: use a .png"), (["--size", "poster"], "unknown figure size"),
        (["--dpi", "5"], "dpi 5 is outside")]


@pytest.mark.parametrize("series, option, message", [
    *((["--series"], o, m) for o, m in _BAD), *(([], o, m) for o, m in _BAD),
    (["--series"], ["--report", "r.png"], "multi-page PDF"),
    (["--series"], ["--bars", "b.gif"], "--bars: use a .png")])
def test_bad_figure_options_fail_before_anything_is_written(tmp_path, capsys, series, option,
                                                            message):
    from xpsfit.cli import main
    args = ["fit", str(EXAMPLES / "kb_series.vms"), "-r", str(EXAMPLES / "s2p_sulfide.toml"),
            *series, "--table", str(tmp_path / "t.csv")]
    if option[0] in ("--report", "--plot", "--bars"):
        option = [option[0], str(tmp_path / option[1])]
    assert main(args + option) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
