"""The verdict of every real spectrum fitted with ``xpsfit recipe init`` defaults, with pictures.

    python tools/verdict_catalogue.py [--real ../shared/real_spectra] [--only TEXT] [--no-images]

Reads every file of the real corpus (MANIFEST.md lists them), and for every XPS core-level block
(surveys, valence bands, UPS and Auger blocks are listed with the reason they are skipped) builds
the recipe ``xpsfit recipe init --region R`` writes (``start_recipe``, the CLI's function: the
CLI's default library when it has the region, else ``common``), fits it, and writes

* ``docs/img/verdicts/<file>_<block>.png`` — the fit panel (8.5 cm at 100 dpi), title = verdict;
* ``docs/verdict_catalogue.md`` — file, block, region, N, χ²ᵣ, verdict, reasons, background
  status, thumbnail and the reviewer's comment from ``tools/verdict_review.toml``.

The background status is checked here independently of the fit's notices: the static Shirley
is recomputed on the fitted window; a Shirley that has no solution must carry the fit's
``background_not_converged`` notice, otherwise the row says SILENT. A comment written for
another verdict than today's is marked "re-review" (the recipe init default may change).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import math
import re
import sys
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import xpsfit
from xpsfit.engine import rules
from xpsfit.numerics import backgrounds

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real_spectra"
IMG = ROOT / "docs" / "img" / "verdicts"
DOC = ROOT / "docs" / "verdict_catalogue.md"
REVIEW = ROOT / "tools" / "verdict_review.toml"
#: ``xpsfit recipe init``'s default library, then the one with every other element
LIBRARIES = ("sulfide_electrolytes", "common")
#: a block wider than this is a survey whatever it is called
SURVEY_SPAN_EV = 200.0
_CORE_LEVEL = re.compile(r"[A-Z][a-z]? \d[spdf]")


@dataclass
class Row:
    file: str
    block: int
    region: str
    n: int = 0
    redchi: float = math.nan
    verdict: str = ""
    reasons: list[str] = field(default_factory=list)
    background: str = ""
    library: str = ""
    image: str = ""
    skipped: str = ""          # why the block is not fitted (survey, UPS, ...)
    silent: bool = False       # a background without a solution and no notice saying so
    texts: list[str] = field(default_factory=list)      # the reasons in full (--verbose)

    @property
    def key(self) -> str:
        return f"{self.file}#{self.block}"


def skip_reason(s) -> str:
    """Why a block is not a core-level XPS region a recipe could fit, or ''."""
    region = str(s.attrs.get("region", "") or "")
    be = s["binding_energy"].values
    hv = float(s.attrs.get("excitation_energy", math.nan))
    low = region.lower()
    if math.isfinite(hv) and hv < 100:
        return f"UPS (hν {hv:g} eV)"
    if "survey" in low or "wide" in low or be[-1] - be[0] > SURVEY_SPAN_EV:
        return f"survey ({be[0]:.0f}–{be[-1]:.0f} eV)"
    if "valence" in low or "fermi" in low:
        return "valence band / Fermi edge"
    if re.search(r"[KLM]{3}", region):
        return f"Auger line ({region})"
    if not region:
        return "the file names no region (a recipe needs one)"
    if not _CORE_LEVEL.fullmatch(region):
        return f"region {region!r} is not a core level"
    return ""


def library_for(region: str) -> str:
    for name in LIBRARIES:
        try:
            xpsfit.load_library(name).region(region)
            return name
        except xpsfit.LibraryError:
            continue
    return ""


def background_status(result) -> tuple[str, bool]:
    """(text, silent): the static Shirley recomputed on the fitted window, against the fit's
    own notice."""
    rec = result.recipe.background
    noticed = any(w.code == "background_not_converged" for w in result.warnings)
    cv = result.curves
    x, y = cv["binding_energy"].values, cv["data"].values
    if rec.type != "shirley":
        return (f"{rec.type}" + (" — not converged (noticed)" if noticed else ""), False)
    ends = rules.endpoint_count(rec.endpoints, x.size)
    _, n_iter, converged = backgrounds.shirley(x, y, endpoints=ends, tol=rec.tol,
                                               max_iter=rec.max_iter, return_info=True)
    if not converged:
        return ("no Shirley exists: linear used" + (" (noticed)" if noticed else " — SILENT"),
                not noticed)
    text = (f"Shirley converged ({n_iter} it.)" if n_iter < rec.max_iter
            else "Shirley by fixed point (iteration did not settle)")
    above = any(c.code == "background_above_data" for c in result.verdict_reasons)
    return text + (", above data (noticed)" if above else ""), False


def fit_block(s, rel: str, block: int, images: bool) -> Row:
    region = str(s.attrs.get("region", ""))
    row = Row(rel, block, region, n=int(s.sizes["binding_energy"]))
    lib = library_for(region)
    if not lib:
        row.skipped = f"no library has region {region}"
        return row
    row.library = lib
    try:
        recipe = xpsfit.start_recipe(lib, region, source="<recipe init>")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = xpsfit.fit(s, recipe)
    except xpsfit.XpsfitError as exc:
        row.verdict, row.reasons = "refused", [str(exc).replace(str(REAL) + "/", "")]
        return row
    row.n = int(result.curves.sizes["binding_energy"])
    row.redchi = float(result.statistics.redchi)
    row.verdict = result.verdict
    row.reasons = reason_list(result.verdict_reasons)
    row.texts = [str(r) for r in result.verdict_reasons]
    row.background, row.silent = background_status(result)
    if images:
        row.image = draw(result, row)
    elif (IMG / image_name(row)).is_file():
        row.image = image_name(row)
    return row


def reason_list(reasons) -> list[str]:
    """``code`` or ``code (what)`` per reason code, the parameters or species it is about
    joined: "at_bound (C_C_fwhm, sp2_position)"."""
    about: dict[str, list[str]] = {}
    for r in reasons:
        what = about.setdefault(r.code, [])
        name = r.parameter if r.parameter not in (None, "redchi", "background") else r.species
        if name and name not in what and r.code not in _UNNAMED:
            what.append(str(name))
    return [f"{code} ({', '.join(what)})" if what else code for code, what in about.items()]


#: reasons whose parameter says nothing more than the code
_UNNAMED = {"undetermined", "covariance_singular", "not_converged", "model_not_finite"}


def image_name(row: Row) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", row.file).strip("_")      # suffix kept: .spe ≠ .txt
    return f"{stem}_{row.block}.png"


def draw(result, row: Row) -> str:
    import textwrap

    from PIL import Image

    from xpsfit.atomic import atomic_path
    from xpsfit.export.plots import fit_figure
    fig = fit_figure(result, size="single")
    fig.suptitle(textwrap.fill(f"{row.key}: {row.verdict}"
                               + (f" ({', '.join(row.reasons)})" if row.reasons else ""), 60),
                 fontsize=7)
    name = image_name(row)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    # 64 colours: a tenth of the bytes of the RGBA picture, the same to the eye (< 1 MB in all)
    picture = Image.open(buf).convert("RGB").quantize(64, method=Image.Quantize.MEDIANCUT)
    with atomic_path(IMG / name, what="picture") as tmp:
        picture.save(tmp, format="PNG", optimize=True)
    return name


def read_blocks(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xpsfit.read(path)


def catalogue(real: Path, only: str | None, images: bool, verbose: bool = False) -> tuple[list[Row], list[str]]:
    rows, refused, seen = [], [], {}
    for path in sorted(p for p in real.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        rel = path.relative_to(real).as_posix()
        if only and only not in rel:
            continue
        try:
            blocks = read_blocks(path)
        except xpsfit.XpsfitError as exc:
            refused.append(f"`{rel}`: {str(exc).replace(str(real) + '/', '')}")
            continue
        for i, s in enumerate(blocks):
            row = Row(rel, i, str(s.attrs.get("region", "")), n=int(s.sizes["binding_energy"]))
            row.skipped = skip_reason(s)
            # float32: two exports of one acquisition differ in the last digits (.spe/.txt)
            digest = hashlib.sha1(np.asarray(s.values, np.float32).tobytes()
                                  + np.asarray(s["binding_energy"].values, np.float32).tobytes()
                                  ).hexdigest()
            if not row.skipped and digest in seen:
                row.skipped = f"same data as `{seen[digest]}`"
            seen.setdefault(digest, row.key)
            if not row.skipped:
                row = fit_block(s, rel, i, images)
            rows.append(row)
            print(summary(row), flush=True)
            if verbose:
                for text in row.texts:
                    print(f"    {text}")
    return rows, refused


def summary(row: Row) -> str:
    if row.skipped:
        return f"{row.key} {row.region}: skipped — {row.skipped}"
    return (f"{row.key} {row.region}: {row.verdict} χ²ᵣ {row.redchi:.3g} "
            f"[{', '.join(row.reasons)}] {row.background}")


def load_review() -> dict:
    if not REVIEW.is_file():
        return {}
    with REVIEW.open("rb") as fh:
        return tomllib.load(fh).get("review", {})


def comment(row: Row, review: dict) -> str:
    entry = review.get(row.key)
    if not entry:
        return "*not reviewed*"
    text = entry["comment"]
    if entry.get("verdict") != row.verdict:
        return f"**re-review** (comment written for verdict {entry.get('verdict')}): {text}"
    return text


def fmt(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{x:.3g}"


def write_doc(rows: list[Row], refused: list[str], command: str) -> None:
    review = load_review()
    fitted = [r for r in rows if not r.skipped]
    counts = {v: sum(r.verdict == v for r in fitted) for v in ("ok", "doubtful", "bad",
                                                                "refused")}
    agreed = sum(1 for r in fitted if review.get(r.key, {}).get("verdict") == r.verdict)
    silent = [r.key for r in fitted if r.silent]
    out = [
        "# Verdict catalogue: every real spectrum with `recipe init` defaults",
        "",
        f"Written by `{command}` (do not edit by hand; the reviewer comments live in "
        "`tools/verdict_review.toml`). Rules: [verdicts.md](verdicts.md).",
        "",
        "Each core-level block of `../shared/real_spectra` is fitted with the recipe "
        "`xpsfit recipe init --region R` prints (`--library sulfide_electrolytes`, the default, "
        "when it has the region, else `--library common`): every library species of the region, "
        "the line shape's default shape, a static Shirley, the library's range. Nothing is "
        "tuned: the verdict judges what a new user gets.",
        "",
        f"**{len(fitted)} fits**: {counts['ok']} ok, {counts['doubtful']} doubtful, "
        f"{counts['bad']} bad, {counts['refused']} refused with one line; the reviewer agrees "
        f"with {agreed} of {len(fitted)}. Backgrounds without a solution and without a notice: "
        f"{', '.join(silent) if silent else 'none'}.",
        "",
        "Columns: N = points in the fitted window; reasons = the verdict's reason codes with the "
        "parameters or species they concern; background = the static Shirley recomputed here on "
        "the fitted window by `backgrounds.shirley` (not the engine's batch routine): converged "
        "(iterations), solved by the fixed point, or no Shirley exists (linear used) — and "
        "whether the fit's own notice names it; SILENT would mean it does not. Each picture's "
        "title carries the verdict; the legend names the background actually drawn.",
        "",
        "| spectrum | region | N | χ²ᵣ | verdict | reasons | background | fit | reviewer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in fitted:
        pic = f'<img src="img/verdicts/{r.image}" width="240" alt="{r.key}">' if r.image else ""
        reasons = ", ".join(r.reasons) if r.verdict != "refused" else r.reasons[0]
        out.append(f"| `{r.file}` #{r.block} | {r.region} | {r.n} | {fmt(r.redchi)} | "
                   f"**{r.verdict}** | {reasons or '—'} | {r.background or '—'} | {pic} | "
                   f"{comment(r, review)} |")
    out += ["", "## Blocks not fitted", "", "| spectrum | region | why |", "|---|---|---|"]
    out += [f"| `{r.file}` #{r.block} | {r.region or '—'} | {r.skipped} |"
            for r in rows if r.skipped]
    if refused:
        out += ["", "## Files refused by the reader (one line each)", ""]
        out += [f"* {line}" for line in refused]
    out.append("")
    from xpsfit.atomic import atomic_write
    with atomic_write(DOC, "w", what="catalogue", encoding="utf-8") as fh:
        fh.write("\n".join(out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", default=str(REAL), help="the real corpus (../shared/real_spectra)")
    ap.add_argument("--only", help="only files whose path contains this text (no doc written)")
    ap.add_argument("--no-images", action="store_true", help="do not redraw the PNGs")
    ap.add_argument("--verbose", action="store_true", help="print every reason in full")
    args = ap.parse_args(argv)
    real = Path(args.real)
    if not real.is_dir():
        print(f"{real}: the real corpus is absent", file=sys.stderr)
        return 2
    IMG.mkdir(parents=True, exist_ok=True)
    rows, refused = catalogue(real, args.only, not args.no_images, args.verbose)
    if not args.only:
        drawn = {r.image for r in rows if r.image}
        for old in IMG.glob("*.png"):          # pictures of blocks no longer fitted
            if old.name not in drawn:
                old.unlink()
        write_doc(rows, refused, "python tools/verdict_catalogue.py")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
