"""The generic codec: every field of every result dataclass survives save -> load, found by
introspection (a field added later is covered without touching this test), and a schema
change like the lead's (Notice records, dict fields) needs no codec change."""
import dataclasses
import math
import typing
from dataclasses import dataclass, field

import h5py
import numpy as np
import pytest
import xarray as xr

from xpsfit import results as result_module
from xpsfit.errors import ExportError
from xpsfit.export import hdf5
from xpsfit.export.h5codec import Decoder, Encoder, field_hints
from xpsfit.export.h5guard import Guard
from xpsfit.results import FitResult, SeriesResult

from test_hdf5 import assert_same, recipe, spectra, synthetic_fit, synthetic_series  # noqa: F401  (fixtures)

RESULT_CLASSES = [c for c in vars(result_module).values()
                  if isinstance(c, type) and dataclasses.is_dataclass(c)
                  and c.__module__ == result_module.__name__]


def _default_of(f):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _differs(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return False
    try:
        return bool(a != b)
    except (ValueError, TypeError):   # arrays, xarray objects: set means not a default
        return True


def _non_default(hint, current, recipe, spectra):
    """A value of type ``hint`` that differs from ``current`` (the dataclass default)."""
    hint = typing.get_args(hint)[0] if typing.get_origin(hint) in (typing.Union,) or \
        type(hint).__name__ == "UnionType" and type(None) in typing.get_args(hint) and \
        len(typing.get_args(hint)) == 2 else hint
    origin = typing.get_origin(hint)
    if hint is bool:
        return not current if isinstance(current, bool) else True
    if hint is int:
        return 7 if current != 7 else 8
    if hint is float:
        return 0.049 if current != 0.049 else 0.051
    if hint is str:
        return "non-default ü"
    if isinstance(hint, type) and issubclass(hint, str):   # Notice: text + attributes
        value = hint("non-default ü")
        for k in vars(value):
            setattr(value, k, f"non-default {k}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_non_default(item, None, recipe, spectra)]
    if origin is dict or hint is dict:
        return {"region": "C 1s", "species": "C-C", "measured": 284.9, "assigned": 284.8,
                "shift": -0.1}
    if dataclasses.is_dataclass(hint):
        return filled(hint, recipe, spectra)
    raise AssertionError(f"no non-default value for {hint}")


def filled(cls, recipe, spectra):
    """An instance of ``cls`` whose every defaulted field differs from its default."""
    if cls is FitResult:
        obj = synthetic_fit(recipe, spectra[0])
    elif cls is SeriesResult:
        obj = synthetic_series(recipe, spectra)
    else:
        hints = field_hints(cls)
        obj = cls(**{f.name: _non_default(hints[f.name], None, recipe, spectra)
                     for f in dataclasses.fields(cls) if _default_of(f) is dataclasses.MISSING})
    hints = field_hints(cls)
    for f in dataclasses.fields(cls):
        default = _default_of(f)
        if default is dataclasses.MISSING or _differs(getattr(obj, f.name), default):
            continue
        setattr(obj, f.name, _non_default(hints[f.name], default, recipe, spectra))
    return obj


def test_every_field_of_every_result_class_is_set_and_round_trips(tmp_path, recipe, spectra):
    assert {c.__name__ for c in RESULT_CLASSES} >= {"FitResult", "SeriesResult",
                                                     "ComponentResult", "ParameterRecord",
                                                     "FitStatistics", "PresenceTest", "Onset"}
    fit = filled(FitResult, recipe, spectra)
    fit.components = [filled(result_module.ComponentResult, recipe, spectra)]
    fit.components[0].species = "PS4"
    fit.curves = fit.curves.isel(species=[0])
    fit.statistics = filled(result_module.FitStatistics, recipe, spectra)
    fit.parameters = {"p": filled(result_module.ParameterRecord, recipe, spectra)}
    fit.parameters["p"].name = "p"
    series = filled(SeriesResult, recipe, spectra)
    series.presence = [filled(result_module.PresenceTest, recipe, spectra)]
    series.presence[0].series_index = 0
    series.onsets = [filled(result_module.Onset, recipe, spectra)]
    series.onsets[0].index = 1
    seen = {}
    for obj in (fit, series):
        _collect(obj, seen)
    for cls in RESULT_CLASSES:       # every class and every defaulted field is really set
        assert cls.__name__ in seen, f"{cls.__name__} not exercised"
        for f in dataclasses.fields(cls):
            default = _default_of(f)
            if default is not dataclasses.MISSING:
                assert _differs(getattr(seen[cls.__name__], f.name), default), \
                    f"{cls.__name__}.{f.name} left at its default"
    assert fit.charge_shift == 0.049 and fit.charge_reference["measured"] == 284.9
    back = hdf5.load_results(hdf5.save([fit, series], tmp_path / "all.h5"))
    assert_same(fit, back[0])
    assert_same(series, back[1])
    assert back[0].charge_shift == 0.049 and back[0].charge_reference == fit.charge_reference


def _collect(obj, seen):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        seen.setdefault(type(obj).__name__, obj)
        for f in dataclasses.fields(obj):
            _collect(getattr(obj, f.name), seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, seen)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect(v, seen)


# -------------------------------------------- a schema change needs no codec change

@dataclass
class Notice:
    code: str
    text: str
    species: str | None = None
    parameter: str | None = None


@dataclass
class NewComponent:
    species: str
    area: float
    parameters: dict[str, str] = field(default_factory=dict)
    present: bool | None = None
    tags: list[str] = field(default_factory=list)
    best: Notice | None = None


@dataclass
class NewResult:
    spectrum: xr.DataArray
    components: list[NewComponent]
    warnings: list[Notice] = field(default_factory=list)
    flags: list[Notice] = field(default_factory=list)
    covariance: np.ndarray | None = None
    by_name: dict[str, NewComponent] = field(default_factory=dict)
    nested: list["Inner"] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    note: str | None = None


@dataclass
class Inner:
    curve: np.ndarray
    label: str = ""


def test_lead_schema_change_round_trips_without_codec_change(tmp_path, spectra):
    comp = NewComponent("S0", 12.5, {"position": "S0_position", "area": "S0_area"}, None,
                        ["a", "b"], Notice("at_bound", "S0 width at bound", "S0", "S0_fwhm"))
    obj = NewResult(spectra[0], [comp, NewComponent("PS4", math.nan)],
                    warnings=[Notice("corr", "|r| > 0.9", parameter="x")],
                    flags=[], covariance=np.arange(4.0).reshape(2, 2),
                    by_name={"S0": comp}, nested=[Inner(np.arange(3), "i0"), Inner(np.ones(2))],
                    extra={"k": [1, 2.5, None, "s"]}, note=None)
    path = tmp_path / "new.h5"
    with h5py.File(path, "w") as f:
        Encoder(lambda r: "").record(f, "rec", obj)
    with h5py.File(path, "r") as f:
        back = Decoder(Guard(path), None).record(f["rec"], NewResult)
        assert f["rec/components"].attrs["xpsfit_kind"] == "table"    # flat records: a table
        assert f["rec/nested"].attrs["xpsfit_kind"] == "items"
    assert isinstance(back.warnings[0], Notice) and back.warnings[0].species is None
    assert isinstance(back.components[0].best, Notice)
    assert back.components[0].parameters == {"position": "S0_position", "area": "S0_area"}
    assert_same(obj, back, "new")


@dataclass
class OldResult:
    spectrum: xr.DataArray
    components: list[NewComponent]
    warnings: list[str] = field(default_factory=list)


def test_text_warnings_read_as_notice_records_are_refused_not_mistyped(tmp_path, spectra):
    """A file from before ``warnings`` became ``list[Notice]`` must not fill the field with
    strings: it is refused in one line naming the HDF5 path."""
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        Encoder(lambda r: "").record(f, "rec", OldResult(spectra[0], [], ["at bound"]))
    with h5py.File(path, "a") as f:
        f["rec"].attrs["xpsfit_type"] = "NewResult"
    with h5py.File(path, "r") as f, pytest.raises(ExportError) as info:
        Decoder(Guard(path), None).record(f["rec"], NewResult)
    msg = str(info.value)
    assert "[/rec/warnings]" in msg and "stored as 'strings'" in msg and "\n" not in msg
