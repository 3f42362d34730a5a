"""FitResult / SeriesResult: plain data at the public surface (no lmfit internals).

CONTRACT (the engine fills these; export, plots, CLI and GUI read them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .errors import FitError
from .recipe.spec import Recipe
from .spectrum import energy_scale_text


class Notice(str):
    """A warning or flag of a fit: the readable text (it IS the string, so it prints, joins and
    compares as one) plus what a program needs without parsing it: ``code`` (e.g. "at_bound",
    "zero_area", "correlated", "not_converged"), and the ``species`` / ``parameter`` it is about."""

    def __new__(cls, text: str, code: str = "", species: str | None = None,
                parameter: str | None = None):
        self = super().__new__(cls, text)
        self.code = str(code)
        self.species = species
        self.parameter = parameter
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)

    def __reduce__(self):
        return (Notice, (self.text, self.code, self.species, self.parameter))


#: codes of :class:`Notice` (stable: tables, HDF5 and the GUI key off them)
NOTICE_CODES = ("at_bound", "zero_area", "no_uncertainty", "covariance_singular", "correlated",
                "not_converged", "model_not_finite", "undetermined", "fraction_below_sigma",
                "prior_pull", "background_not_converged", "undetermined_parameters",
                "charge_reference", "monte_carlo", "range_clipped", "chi2", "chi2_relative",
                "residual_structure", "main_at_bound", "background_above_data",
                "fraction_uncertain", "model_incomplete", "background_variants", "other")


@dataclass
class ParameterRecord:
    name: str                     # lmfit name, e.g. "PS4_position"
    value: float
    stderr: float = math.nan
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    expr: str | None = None       # lmfit expression when linked
    kind: str = "free"            # free | fixed | linked
    at_bound: bool = False


@dataclass
class ComponentResult:
    species: str
    label: str
    lineshape: str
    position: float               # 2p3/2 for doublets, after any charge shift
    position_stderr: float
    fwhm: float                   # true FWHM of the shape (what tables report)
    fwhm_stderr: float
    fwhm_param: float             # width parameter of the shape (== fwhm for G/L/SGL/pV)
    area: float                   # total analytic area (doublet: both lines)
    area_stderr: float
    fraction: float               # area / sum of areas in the region
    fraction_stderr: float        # 1σ from the covariance (correlations included): σ_stat
    fraction_mc_stderr: float = math.nan   # 1σ from Monte Carlo refits, when run
    # background-systematic σ_bg: the largest change over the background variants
    # (xpsfit.engine.background_variants); NaN when not computed (sigma_bg off, map pixels)
    area_stderr_bg: float = math.nan
    fraction_stderr_bg: float = math.nan
    # σ_total = √(σ_stat² + σ_bg²); σ_stat when σ_bg was not computed
    area_stderr_total: float = math.nan
    fraction_stderr_total: float = math.nan
    area_in_region: float = math.nan       # area inside the fit range
    shape: dict[str, float] = field(default_factory=dict)
    splitting: float = math.nan
    ratio: float = math.nan
    present: bool | None = None   # filled by presence tests (series, fit --presence)
    presence_F: float = math.nan  # the presence test's F statistic and p-value
    presence_p: float = math.nan
    upper_limit: float = math.nan # fraction upper limit when not detected
    parameters: dict[str, str] = field(default_factory=dict)  # quantity -> parameter name

    def __post_init__(self):
        if math.isnan(self.area_stderr_total):
            self.area_stderr_total = combined_sigma(self.area_stderr, self.area_stderr_bg)
        if math.isnan(self.fraction_stderr_total):
            self.fraction_stderr_total = combined_sigma(self.fraction_stderr,
                                                        self.fraction_stderr_bg)


def combined_sigma(stat: float, bg: float) -> float:
    """σ_total = √(σ_stat² + σ_bg²); σ_stat alone when σ_bg is unknown (NaN)."""
    return float(math.hypot(stat, bg)) if math.isfinite(bg) else float(stat)


@dataclass
class FitStatistics:
    chisqr: float
    redchi: float
    aic: float
    bic: float
    ndata: int
    nvarys: int
    nfev: int
    success: bool
    message: str
    abbe: float = math.nan        # von Neumann ratio of normalised residuals
    prior_chisqr: float = 0.0     # part of chisqr from soft priors


@dataclass
class FitResult:
    spectrum: xr.DataArray        # the spectrum as fitted (full range, charge shift applied)
    recipe: Recipe
    parameters: dict[str, ParameterRecord]
    covariance: np.ndarray | None # over the varied parameters, order = covariance_names
    covariance_names: list[str]
    components: list[ComponentResult]
    curves: xr.Dataset            # dim binding_energy (fit range): data, envelope, background,
                                  # residual, sigma; components(species, binding_energy)
    statistics: FitStatistics
    warnings: list[Notice] = field(default_factory=list)   # at bound, strong correlation, ...
    flags: list[Notice] = field(default_factory=list)      # reasons a result is not trustworthy
    monte_carlo: int = 0
    label: str = ""
    charge_shift: float = 0.0     # eV added to the spectrum's BE axis (attrs["charge_shift"])
    charge_reference: dict = field(default_factory=dict)  # region, species, measured, assigned,
                                  # shift — when this fit set the shift itself (xpsfit.fitting.referencing)
    verdict: str = ""             # ok | doubtful | bad (xpsfit.engine.verdict, docs/verdicts.md)
    verdict_reasons: list[Notice] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return bool(self.statistics.success) and not self.flags

    # ---- views (plain data) -------------------------------------------------------------
    @property
    def correlation(self) -> np.ndarray | None:
        """Correlation matrix over ``covariance_names`` (None without a covariance)."""
        if self.covariance is None:
            return None
        c = np.asarray(self.covariance, dtype=float)
        s = np.sqrt(np.clip(np.diag(c), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / np.outer(s, s)

    def component(self, species: str) -> ComponentResult:
        for c in self.components:
            if c.species == species:
                return c
        raise KeyError(species)

    @property
    def fractions(self) -> dict[str, float]:
        return {c.species: c.fraction for c in self.components}

    def spectrum_name(self) -> str:
        """Short name of the fitted spectrum: ``file.vms#3`` or the label."""
        a = self.spectrum.attrs
        src = str(a.get("source_file", "") or "")
        base = src.replace("\\", "/").rsplit("/", 1)[-1] if src else ""
        if base:
            return f"{base}#{int(a.get('block_index', 0))}"
        return self.label or str(a.get("block_name", "")) or "spectrum"

    def table_rows(self) -> list[dict]:
        """One dict per component with the CSV columns (see :data:`TABLE_COLUMNS`)."""
        rows = []
        name = self.spectrum_name()
        for c in self.components:
            rows.append({
                "spectrum": name, "label": self.label, "species": c.species,
                "species_label": c.label, "area": c.area, "area_stderr": c.area_stderr,
                "area_stderr_bg": c.area_stderr_bg, "area_stderr_total": c.area_stderr_total,
                "fraction": c.fraction, "fraction_stderr": c.fraction_stderr,
                "fraction_stderr_bg": c.fraction_stderr_bg,
                "fraction_stderr_total": c.fraction_stderr_total,
                "fraction_mc_stderr": c.fraction_mc_stderr, "position": c.position,
                "position_stderr": c.position_stderr, "fwhm": c.fwhm, "fwhm_stderr": c.fwhm_stderr,
                "fwhm_param": c.fwhm_param, "area_in_region": c.area_in_region,
                "lineshape": c.lineshape, "splitting": c.splitting, "ratio": c.ratio,
                "present": "" if c.present is None else bool(c.present),
                "presence_F": c.presence_F, "presence_p": c.presence_p,
                "upper_limit": c.upper_limit,
                "redchi": self.statistics.redchi, "success": self.success,
                "charge_shift": self.charge_shift, "verdict": self.verdict,
                "verdict_reasons": "; ".join(self.verdict_reasons),
            })
        return rows

    def to_dataset(self) -> xr.Dataset:
        """xarray Dataset: the curves (dim binding_energy), per-species variables with their
        1σ (dim species) and the statistics/recipe summary as attrs."""
        ds = self.curves.copy()
        sp = [c.species for c in self.components]
        ds = ds.assign_coords(species=sp)
        for q in ("area", "fraction", "position", "fwhm"):
            ds[q] = ("species", [getattr(c, q) for c in self.components])
            ds[f"{q}_stderr"] = ("species", [getattr(c, f"{q}_stderr") for c in self.components])
        ds["fraction_mc_stderr"] = ("species", [c.fraction_mc_stderr for c in self.components])
        for q in ("area", "fraction"):
            for part in ("bg", "total"):
                name = f"{q}_stderr_{part}"
                ds[name] = ("species", [getattr(c, name) for c in self.components])
        ds["fwhm_param"] = ("species", [c.fwhm_param for c in self.components])
        ds["area_in_region"] = ("species", [c.area_in_region for c in self.components])
        ds["splitting"] = ("species", [c.splitting for c in self.components])
        ds["ratio"] = ("species", [c.ratio for c in self.components])
        ds["label"] = ("species", [c.label for c in self.components])
        ds["fraction"].attrs["long_name"] = f"fraction of {self.recipe.region} area"
        ds["fwhm"].attrs["long_name"] = "true FWHM of the line shape (eV)"
        st = self.statistics
        ds.attrs.update({
            "region": self.recipe.region, "lineshape": self.recipe.lineshape,
            "background": self.recipe.background.type, "label": self.label,
            "chisqr": st.chisqr, "redchi": st.redchi, "aic": st.aic, "bic": st.bic,
            "ndata": st.ndata, "nvarys": st.nvarys, "nfev": st.nfev,
            "success": int(self.success), "message": st.message, "abbe": st.abbe,
            "prior_chisqr": st.prior_chisqr, "monte_carlo": self.monte_carlo,
            "warnings": "\n".join(self.warnings), "flags": "\n".join(self.flags),
            "source_file": str(self.spectrum.attrs.get("source_file", "")),
            "block_index": int(self.spectrum.attrs.get("block_index", 0)),
            "charge_shift": float(self.charge_shift), "verdict": self.verdict,
            "verdict_reasons": "\n".join(self.verdict_reasons),
            "uncertainty": "*_stderr: 1 sigma from the covariance (Poisson weights, scaled by "
                           "max(1, reduced chi2) for counts), propagated with correlations; "
                           "*_stderr_bg: largest change over the background variants; "
                           "*_stderr_total: both in quadrature",
        })
        return ds

    def report(self) -> str:
        """Readable text: statistics, components ± σ, parameters, warnings and flags."""
        st = self.statistics
        lines = [f"Fit of {self.spectrum_name()}" + (f" ({self.label})" if self.label else "")
                 + f" — {self.recipe.region}, {self.recipe.lineshape}, "
                 f"background {self.recipe.background.type}",
                 f"  success: {self.success}   {st.message}",
                 f"  verdict: {self.verdict or '?'}"
                 + "".join(f"\n    - {r}" for r in self.verdict_reasons),
                 f"  chi2 = {st.chisqr:.4g}   reduced chi2 = {st.redchi:.4g}   N = {st.ndata}"
                 f"   n_varys = {st.nvarys}   nfev = {st.nfev}",
                 f"  charge shift = {self.charge_shift:+.3f} eV" + self._reference_text(),
                 f"  energy axis: {energy_scale_text(self.spectrum.attrs)}",
                 f"  AIC = {st.aic:.4g}   BIC = {st.bic:.4g}   Abbe = {st.abbe:.3f}"
                 + (f"   prior chi2 = {st.prior_chisqr:.4g}" if st.prior_chisqr else ""),
                 "", "  species              position (eV)      true FWHM (eV)      area"
                 "                 fraction (%)"]
        for c in self.components:
            mc = (f"  [MC ± {100 * c.fraction_mc_stderr:.2f}]"
                  if math.isfinite(c.fraction_mc_stderr) else "")
            bg = (f"  [bg ± {100 * c.fraction_stderr_bg:.2f}, total ± "
                  f"{100 * c.fraction_stderr_total:.2f}]"
                  if math.isfinite(c.fraction_stderr_bg) else "")
            lines.append(f"  {c.label[:18]:<18} {c.position:9.3f} ± {c.position_stderr:<7.3f}"
                         f" {c.fwhm:7.3f} ± {c.fwhm_stderr:<7.3f}"
                         f" {c.area:11.5g} ± {c.area_stderr:<9.3g}"
                         f" {100 * c.fraction:6.2f} ± {100 * c.fraction_stderr:.2f}{bg}{mc}")
        lines += ["", "  parameters:"]
        for p in self.parameters.values():
            extra = f" = {p.expr}" if p.expr else ""
            flag = "  AT BOUND" if p.at_bound else ""
            lines.append(f"    {p.name:<26} {p.value:12.6g} ± {p.stderr:<10.3g} [{p.kind}]"
                         f"{extra}{flag}")
        if self.warnings:
            lines += ["", "  warnings:"] + [f"    - {w}" for w in self.warnings]
        if self.flags:
            lines += ["", "  NOT TRUSTWORTHY:"] + [f"    - {f}" for f in self.flags]
        return "\n".join(lines)

    def _reference_text(self) -> str:
        ref = self.charge_reference
        if not ref:
            text = str(self.spectrum.attrs.get("charge_reference", "") or "")
            return f" ({text})" if text else ""
        return (f" ({ref['region']} {ref['species']} measured {ref['measured']:.3f} eV, "
                f"assigned {ref['assigned']:.3f} eV)")


#: columns of the single-fit CSV table, in order
TABLE_COLUMNS = ["spectrum", "label", "species", "species_label", "area", "area_stderr",
                 "area_stderr_bg", "area_stderr_total", "fraction", "fraction_stderr",
                 "fraction_stderr_bg", "fraction_stderr_total", "fraction_mc_stderr", "position",
                 "position_stderr", "fwhm", "fwhm_stderr", "fwhm_param", "area_in_region",
                 "lineshape", "splitting", "ratio", "present", "presence_F", "presence_p",
                 "upper_limit", "redchi", "success",
                 "charge_shift", "verdict", "verdict_reasons"]


@dataclass
class PresenceTest:
    series_index: int
    label: str
    species: str
    present: bool
    F: float
    p_value: float
    fraction: float
    fraction_stderr: float        # σ_total (statistical and background-systematic)
    area: float
    area_stderr: float            # σ_total (statistical and background-systematic)
    upper_limit: float = math.nan  # fraction upper limit when not detected
    # the area also exceeds 3σ_total: no reasonable background choice removes it (True when
    # σ_bg is off); a detection that is not robust is named in the onset sentence
    background_robust: bool = True


@dataclass
class Onset:
    species: str
    index: int | None
    label: str | None
    F: float = math.nan
    p_value: float = math.nan
    fraction: float = math.nan
    fraction_stderr: float = math.nan
    sentence: str = ""


@dataclass
class SeriesResult:
    results: list[FitResult]      # one per spectrum, in series order (values from the joint fit)
    labels: list[str]
    recipe: Recipe
    mode: str                     # joint | propagate | independent
    parameters: dict[str, ParameterRecord] = field(default_factory=dict)  # all, joint fit
    covariance: np.ndarray | None = None
    covariance_names: list[str] = field(default_factory=list)
    statistics: FitStatistics | None = None
    presence: list[PresenceTest] = field(default_factory=list)
    onsets: list[Onset] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)

    # ---- views (added for series analysis; computed on demand, plain data) ---------------
    def table_rows(self) -> list[dict]:
        """Long table rows: the single-fit columns + series_index, label, present
        (:func:`series_rows`)."""
        return series_rows(self)

    def to_dataset(self) -> xr.Dataset:
        """Composition, dims spectrum × species (:func:`composition_table`)."""
        return composition_table(self)

    def onset_sentences(self) -> list[str]:
        return [o.sentence for o in self.onsets]


# ------------------------------------------------------------------ series views (plain data)
#: columns of the series long table and of onsets.csv
SERIES_COLUMNS = ["series_index", *TABLE_COLUMNS]
ONSET_COLUMNS = ["species", "onset_label", "onset_index", "F", "p_value", "fraction",
                 "fraction_stderr", "sentence"]


def _presence_map(result: SeriesResult) -> dict[tuple[int, str], object]:
    return {(t.series_index, t.species): t for t in result.presence}


def composition_table(result: SeriesResult) -> xr.Dataset:
    """Fractions ± σ, presence and upper limits as a Dataset (dims spectrum × species)."""
    if not result.results:
        raise FitError("the series has no results")
    species = [c.species for c in result.results[0].components]
    n, m = len(result.results), len(species)
    frac, ferr, area, aerr, ul, fbg, ftot = (np.full((n, m), np.nan) for _ in range(7))
    present = np.zeros((n, m), dtype=bool)
    tested = _presence_map(result)
    for j, r in enumerate(result.results):
        for i, sp in enumerate(species):
            c = r.component(sp)
            frac[j, i], ferr[j, i] = c.fraction, c.fraction_stderr
            fbg[j, i], ftot[j, i] = c.fraction_stderr_bg, c.fraction_stderr_total
            area[j, i], aerr[j, i] = c.area, c.area_stderr
            t = tested.get((j, sp))
            present[j, i] = bool(t.present) if t is not None else bool(c.present)
            if t is not None:
                ul[j, i] = t.upper_limit
    dims = ("spectrum", "species")
    region = result.recipe.region
    ds = xr.Dataset(
        {"fraction": (dims, frac, {"long_name": f"fraction of {region} area", "units": "1"}),
         "fraction_stderr": (dims, ferr, {"long_name": "1 sigma of fraction (covariance)"}),
         "fraction_stderr_bg": (dims, fbg, {"long_name": "background-systematic sigma of "
                                                        "fraction (largest variant change)"}),
         "fraction_stderr_total": (dims, ftot, {"long_name": "sqrt(stat^2 + bg^2)"}),
         "area": (dims, area, {"units": "counts*eV"}),
         "area_stderr": (dims, aerr),
         "present": (dims, present, {"rule": "F-test p < 0.05 and area > 3 sigma_total"}),
         "upper_limit": (dims, ul, {"long_name": "fraction upper limit when not detected "
                                                 "(fraction + 3 sigma_total)"})},
        coords={"spectrum": np.arange(n), "species": species,
                "label": ("spectrum", list(result.labels)),
                "species_label": ("species", [c.label for c in result.results[0].components])})
    ds.attrs.update({"region": region, "mode": result.mode,
                     "quantity": f"% of {region} area (species fractions, no RSF)",
                     "onsets": "\n".join(o.sentence for o in result.onsets)})
    return ds


def series_rows(result: SeriesResult) -> list[dict]:
    """The long table: one row per spectrum × species (single-fit columns + series_index)."""
    tested = _presence_map(result)
    rows = []
    for j, r in enumerate(result.results):
        for row in r.table_rows():
            row["series_index"] = j
            row["label"] = result.labels[j]
            t = tested.get((j, row["species"]))
            if t is not None:
                row["present"] = bool(t.present)
                row["upper_limit"] = t.upper_limit
                row["F"] = t.F
                row["p_value"] = t.p_value
            row["mode"] = result.mode
            rows.append(row)
    return rows


def onset_rows(result: SeriesResult) -> list[dict]:
    return [{"species": o.species, "onset_label": o.label or "",
             "onset_index": "" if o.index is None else o.index, "F": o.F,
             "p_value": o.p_value, "fraction": o.fraction, "fraction_stderr": o.fraction_stderr,
             "sentence": o.sentence} for o in result.onsets]
