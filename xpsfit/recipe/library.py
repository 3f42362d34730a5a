"""Peak libraries (TOML) -> validated species records.

A library file holds regions (core levels) and their species::

    name = "my_library"
    extends = "sulfide_electrolytes"      # optional: a built-in name or a path
    [regions."S 2p"]
    doublet = true
    splitting = 1.18
    ratio = 0.5
    [regions."S 2p".species.S0]
    label = "S⁰"
    position = 164.0
    window = [163.7, 164.6]
    fwhm = [0.7, 2.0]
    references = [{citation = "…", year = 2014, confidence = "C"}]

Every problem is reported as one :class:`LibraryError` line naming the file, the key path and (best
effort) the line, e.g. ``my.toml:12 [regions."S 2p".species.S0.window]: window (164.5, 164.2) is
empty``.
"""
from __future__ import annotations

import copy
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import LibraryError, XpsfitError
from ..io.limits import (MAX_BINDING_EV, MAX_FWHM_EV, MAX_TOML_BYTES, MAX_TOML_DEPTH,
                         MIN_BINDING_EV, MIN_FWHM_EV, check_toml_depth, read_bytes)
from ..spectrum import region_key

#: ranges every energy and width of a recipe or library must lie in (see io/limits.py)
ENERGY_LIMITS = (MIN_BINDING_EV, MAX_BINDING_EV)
FWHM_LIMITS = (MIN_FWHM_EV, MAX_FWHM_EV)

#: confidence tags (see the domain reference): Confirmed, Literature, Textbook, Derived, Unconfirmed
CONFIDENCE = {"C": "confirmed in the cited source", "L": "literature value, verify it",
              "T": "textbook / well established", "D": "derived here",
              "U": "unconfirmed best estimate"}

_BUILTIN_PACKAGE = "xpsfit.peak_libraries"


def lineshape_names() -> tuple[str, ...]:
    """Names of the registered line shapes."""
    from ..numerics.lineshapes import LINESHAPES
    return tuple(LINESHAPES)


@dataclass(frozen=True)
class Reference:
    citation: str                 # "Auvergniot et al., Chem. Mater. 29 (2017) 3883"
    year: int | None = None
    confidence: str = "U"         # C | L | T | D | U (see docs / xps_domain.md legend)


@dataclass
class SpeciesDef:
    key: str                      # library key, e.g. "PS4", "S2-", "polysulfide"
    label: str                    # display label, Unicode, e.g. "PS₄³⁻"
    position: float               # start position (2p3/2 for doublets), eV BE
    window: tuple[float, float]   # allowed absolute BE window (lo, hi)
    fwhm: tuple[float, float]     # allowed FWHM range (lo, hi), eV
    lineshape: str | None = None  # optional default line shape name
    references: list[Reference] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def confidence(self) -> str:
        """The tags of all references, e.g. ``"L"`` or ``"C/L"`` (``"U"`` when none)."""
        tags = sorted({r.confidence for r in self.references}, key="CLTDU".index)
        return "/".join(tags) or "U"


@dataclass
class RegionDef:
    name: str                     # core level, e.g. "S 2p"
    doublet: bool = False
    splitting: float = 0.0        # Δ = E(2p1/2) − E(2p3/2), eV
    splitting_sigma: float | None = None   # soft prior σ (None = hard)
    ratio: float = 0.5            # area(minor)/area(major), e.g. 0.5 for p
    ratio_sigma: float | None = None
    sensitivity_factor: float = 1.0        # RSF for atomic % across regions
    sensitivity_source: str = ""
    default_range: tuple[float, float] | None = None
    species: dict[str, SpeciesDef] = field(default_factory=dict)
    note: str = ""                # added: free text (e.g. why a ratio or splitting was chosen)
    references: list[Reference] = field(default_factory=list)   # added: for splitting/ratio
    #: what the region's species leave out (e.g. "shake-up satellites ..."): a verdict that
    #: finds misfit on a recipe without free components says so (docs/verdicts.md)
    not_modelled: str = ""

    def get(self, key: str) -> SpeciesDef:
        """Species by key or alias (exact, then case-insensitive); LibraryError lists choices."""
        key = str(key).strip()
        if key in self.species:
            return self.species[key]
        for sp in self.species.values():
            if key in sp.aliases:
                return sp
        low = key.lower()
        for sp in self.species.values():
            if sp.key.lower() == low or low in (a.lower() for a in sp.aliases):
                return sp
        raise LibraryError(f"unknown species {key!r} in region {self.name}; valid: "
                           f"{self.choices()}")

    def choices(self) -> str:
        """Keys (with aliases in parentheses) for error messages and listings."""
        parts = []
        for sp in self.species.values():
            parts.append(sp.key + (f" ({', '.join(sp.aliases)})" if sp.aliases else ""))
        return ", ".join(parts) or "(none)"


@dataclass
class Library:
    name: str
    description: str = ""
    source: str = ""              # file path it came from
    regions: dict[str, RegionDef] = field(default_factory=dict)
    extends: str = ""             # added: the library this one extends ("" = none)

    def region(self, name: str) -> RegionDef:
        """Region by name, matched with :func:`xpsfit.spectrum.region_key`."""
        key = region_key(name)
        for r in self.regions.values():
            if region_key(r.name) == key:
                return r
        raise LibraryError(f"unknown region {name!r} in library {self.name}; valid: "
                           f"{', '.join(self.regions) or '(none)'}", path=self.source or None)


# ---------------------------------------------------------------------------------------------
# key paths and line numbers

def key_path(*parts: str | int) -> str:
    """``("regions", "S 2p", "species", "S0")`` -> ``regions."S 2p".species.S0``; ints index
    arrays of tables and are shown 1-based: ``components[2].fwhm``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p + 1}]"
            continue
        text = p if re.fullmatch(r"[A-Za-z0-9_\-]+", p) else '"' + p.replace('"', '\\"') + '"'
        out += ("." if out else "") + text
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
_DOTTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)')


def _split_dotted(text: str) -> list[str]:
    return [a or b or c for a, b, c in _DOTTED.findall(text)]


def find_line(text: str, parts: tuple[str | int, ...]) -> int | None:
    """Best-effort 1-based line of a key path in TOML text (None if not found).

    Follows table headers (``[a.b]``, ``[[components]]`` counted for array indices) and then
    looks for ``key =`` in the table's body. Good enough for pointing a user at the right place.
    """
    if not text or not parts:
        return None
    lines = text.splitlines()
    names = tuple(p for p in parts if isinstance(p, str))
    best_line, best_len = None, 0
    counters: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    current_index: dict[tuple[str, ...], int] = {}
    for i, line in enumerate(lines, start=1):
        m = _HEADER.match(line)
        if m and not line.lstrip().startswith(("#",)) and "=" not in line.split("]")[0]:
            current = tuple(_split_dotted(m.group(2)))
            if m.group(1) == "[[":
                counters[current] = counters.get(current, -1) + 1
                current_index = {current: counters[current]}
            if _matches(parts, current, current_index) and len(current) > best_len:
                best_line, best_len = i, len(current)
            continue
        km = re.match(r'^\s*("[^"]*"|[A-Za-z0-9_\-.]+)\s*=', line)
        if not km:
            continue
        full = current + tuple(_split_dotted(km.group(1)))
        if _matches(parts, full, current_index) and len(full) > best_len:
            best_line, best_len = i, len(full)
    if best_line is None and names:
        # fall back to the first line that mentions the last name as a key
        last = names[-1]
        for i, line in enumerate(lines, start=1):
            if re.match(rf'^\s*"?{re.escape(last)}"?\s*=', line):
                return i
    return best_line


def _matches(parts: tuple, candidate: tuple[str, ...], index: dict) -> bool:
    """Does ``candidate`` (table names) lie along the key path ``parts`` (names and indices)?"""
    names: list[str] = []
    want_index: dict[tuple[str, ...], int] = {}
    for p in parts:
        if isinstance(p, int):
            want_index[tuple(names)] = p
        else:
            names.append(p)
    if len(candidate) > len(names) or tuple(names[:len(candidate)]) != candidate:
        return False
    for table, idx in want_index.items():
        if len(table) <= len(candidate) and candidate[:len(table)] == table:
            # inline arrays (references = [{...}]) cannot be counted: accept the key line
            if table in index and index[table] != idx:
                return False
    return True


class Checker:
    """Type checks on raw TOML values that raise one error class with file, line and key."""

    def __init__(self, error: type[XpsfitError], source: str, text: str):
        self.error, self.source, self.text = error, source, text

    def fail(self, parts: tuple, message: str) -> XpsfitError:
        return self.error(message, path=self.source or None, line=find_line(self.text, parts),
                          key=key_path(*parts) if parts else None)

    def table(self, value: Any, parts: tuple, allowed: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(parts, f"expected a table, got {_kind(value)}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    raise self.fail(parts + (k,), f"unknown key {k!r}; valid: "
                                                  f"{', '.join(allowed)}")
        return value

    def number(self, value: Any, parts: tuple, *, positive: bool = False,
               nonneg: bool = False, within: tuple[float, float] | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(parts, f"expected a number, got {_kind(value)}")
        v = float(value)
        if not math.isfinite(v):
            raise self.fail(parts, f"expected a finite number, got {value!r}")
        if positive and v <= 0:
            raise self.fail(parts, f"must be > 0, got {v:g}")
        if nonneg and v < 0:
            raise self.fail(parts, f"must be >= 0, got {v:g}")
        if within is not None and not within[0] <= v <= within[1]:
            raise self.fail(parts, f"{v:g} is outside the limits {within[0]:g}..{within[1]:g} eV")
        return v

    def integer(self, value: Any, parts: tuple, minimum: int = 0,
                maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(parts, f"expected an integer, got {_kind(value)}")
        if value < minimum:
            raise self.fail(parts, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(parts, f"must be <= {maximum} (limit), got {value}")
        return value

    def string(self, value: Any, parts: tuple, *, nonempty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(parts, f"expected text, got {_kind(value)}")
        if nonempty and not value.strip():
            raise self.fail(parts, "must not be empty")
        return value

    def boolean(self, value: Any, parts: tuple) -> bool:
        if not isinstance(value, bool):
            raise self.fail(parts, f"expected true or false, got {_kind(value)}")
        return value

    def pair(self, value: Any, parts: tuple, what: str, *, positive: bool = False,
             within: tuple[float, float] | None = None) -> tuple[float, float]:
        """``[lo, hi]`` with lo < hi (and inside ``within``, a documented limit, when given)."""
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise self.fail(parts, f"{what} must be [low, high], got {_show(value)}")
        lo = self.number(value[0], parts, positive=positive)
        hi = self.number(value[1], parts, positive=positive)
        if not lo < hi:
            raise self.fail(parts, f"{what} ({lo:g}, {hi:g}) is empty (low > high)" if lo > hi else
                            f"{what} ({lo:g}, {hi:g}) has zero width")
        if within is not None and not (within[0] <= lo and hi <= within[1]):
            raise self.fail(parts, f"{what} ({lo:g}, {hi:g}) is outside the limits "
                                   f"{within[0]:g}..{within[1]:g} eV")
        return lo, hi

    def string_list(self, value: Any, parts: tuple) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(parts, f"expected a list of text, got {_kind(value)}")
        return [self.string(v, parts) for v in value]


def _kind(value: Any) -> str:
    names = {dict: "a table", list: "a list", str: "text", bool: "a boolean", int: "an integer",
             float: "a number"}
    return f"{names.get(type(value), type(value).__name__)} ({_show(value)})"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_toml(text: str, source: str, error: type[XpsfitError]) -> dict:
    """``tomllib.loads`` with syntax errors turned into ``error`` carrying the line number.
    Nesting deeper than ``limits.MAX_TOML_DEPTH`` is refused first: tomllib recurses once per
    level and 20 000 nested arrays end in RecursionError."""
    check_toml_depth(text, source, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise error(f"TOML syntax error: {msg}", path=source or None, line=line) from None
    except RecursionError:   # nesting the depth scan could not see; never a traceback
        raise error(f"arrays/tables nested too deep (limit {MAX_TOML_DEPTH})",
                    path=source or None) from None


def read_text(path: Path, error: type[XpsfitError]) -> str:
    """A recipe or library file as text: a regular file (not a FIFO or /dev/zero) of at most
    ``limits.MAX_TOML_BYTES``, UTF-8."""
    data = read_bytes(path, error=error, limit=MAX_TOML_BYTES, missing="file not found")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error("not UTF-8 text (TOML files must be UTF-8)", path=str(path)) from None


# ---------------------------------------------------------------------------------------------
# loading

_TOP_KEYS = ("name", "description", "extends", "regions")
_REGION_KEYS = ("name", "doublet", "splitting", "splitting_sigma", "ratio", "ratio_sigma",
                "sensitivity_factor", "sensitivity_source", "default_range", "note",
                "not_modelled", "references", "species")
_SPECIES_KEYS = ("label", "position", "window", "fwhm", "lineshape", "references", "aliases",
                 "note")
_REF_KEYS = ("citation", "year", "confidence")


def list_libraries() -> list[str]:
    """Names of the built-in libraries (the ``*.toml`` files shipped in the package)."""
    folder = resources.files(_BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _builtin_path(name: str):
    res = resources.files(_BUILTIN_PACKAGE).joinpath(f"{name}.toml")
    return res if _is_file(res) else None


def _is_file(path) -> bool:
    """``is_file`` that says False for names the OS refuses (too long: OSError; NUL byte:
    ValueError) instead of raising: a recipe's library name is untrusted text."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or "\\" in name or _is_file(Path(name))


def _read_source(name_or_path, base_dir: Path | None) -> tuple[str, str]:
    """(text, source label) for a built-in name or a file path."""
    name = str(name_or_path)
    if not isinstance(name_or_path, Path) and not _looks_like_path(name):
        res = _builtin_path(name)
        if res is None:
            raise LibraryError(f"unknown library {name!r}; built-in libraries: "
                               f"{', '.join(list_libraries())} (or give a path to a .toml file)")
        return res.read_text(encoding="utf-8"), str(res)
    path = Path(name).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return read_text(path, LibraryError), str(path)


def _load_raw(name_or_path, base_dir: Path | None, chain: tuple[str, ...]
              ) -> tuple[dict, str, str]:
    """Raw merged TOML data of a library and everything it extends; (data, source, text)."""
    text, source = _read_source(name_or_path, base_dir)
    if source in chain:
        raise LibraryError(f"'extends' forms a cycle: {' -> '.join(chain + (source,))}",
                           path=source)
    data = parse_toml(text, source, LibraryError)
    check = Checker(LibraryError, source, text)
    check.table(data, (), _TOP_KEYS)
    parent = data.get("extends")
    if parent is None:
        return data, source, text
    check.string(parent, ("extends",))
    here = Path(source).parent if Path(source).is_file() else None
    base, base_source, base_text = _load_raw(parent, here, chain + (source,))
    # validate the parent on its own first, so a broken parent is blamed on the parent's file
    library_from_dict(base, source=base_source, text=base_text,
                      default_name=Path(base_source).stem)
    merged = copy.deepcopy(base)
    merged.pop("extends", None)
    merged.pop("name", None)   # an extension without a name is named after its own file
    for k in ("name", "description"):
        if k in data:
            merged[k] = data[k]
    merged["extends"] = parent
    regions = merged.setdefault("regions", {})
    for rname, rdata in check.table(data.get("regions", {}), ("regions",)).items():
        check.table(rdata, ("regions", rname))
        target = next((k for k in regions if region_key(k) == region_key(rname)), None)
        if target is None:
            regions[rname] = copy.deepcopy(rdata)
            continue
        into = regions[target]
        for k, v in rdata.items():
            if k == "species":
                species = into.setdefault("species", {})
                for skey, sdata in check.table(v, ("regions", rname, "species")).items():
                    check.table(sdata, ("regions", rname, "species", skey))
                    # a species given again is updated key by key (override a window only)
                    species.setdefault(skey, {}).update(copy.deepcopy(sdata))
            else:
                into[k] = copy.deepcopy(v)
    return merged, source, text


def load_library(name_or_path) -> Library:
    """Built-in name (``"sulfide_electrolytes"``, ``"common"``) or a TOML path.

    A library may ``extends = "<built-in or path>"`` (a relative path is taken from the
    extending file's folder); its regions and species are merged over the parent's, a species
    given again is updated field by field. Raises :class:`LibraryError` (one line, file, key,
    line) for anything invalid.
    """
    if isinstance(name_or_path, Library):
        return name_or_path
    data, source, text = _load_raw(name_or_path, None, ())
    default_name = Path(source).stem
    return library_from_dict(data, source=source, text=text, default_name=default_name)


def library_from_dict(data: dict, *, source: str = "", text: str = "",
                      default_name: str = "library") -> Library:
    """Validate raw library data (as from TOML) and build the :class:`Library`."""
    check = Checker(LibraryError, source, text)
    check.table(data, (), _TOP_KEYS)
    name = check.string(data.get("name", default_name), ("name",))
    description = check.string(data.get("description", ""), ("description",), nonempty=False)
    extends = data.get("extends", "") or ""
    regions_raw = check.table(data.get("regions", {}), ("regions",))
    if not regions_raw:
        raise check.fail(("regions",), "a library needs at least one [regions.\"<name>\"] table")
    lib = Library(name=name, description=description, source=source, extends=str(extends))
    seen: dict[str, str] = {}
    for rname, rdata in regions_raw.items():
        region = _parse_region(check, rname, rdata)
        k = region_key(region.name)
        if k in seen:
            raise check.fail(("regions", rname), f"region {region.name!r} is defined twice "
                                                 f"(also as {seen[k]!r})")
        seen[k] = rname
        lib.regions[region.name] = region
    return lib


def _parse_refs(check: Checker, value: Any, parts: tuple) -> list[Reference]:
    if not isinstance(value, list):
        raise check.fail(parts, f"references must be a list of tables, got {_kind(value)}")
    refs = []
    for i, r in enumerate(value):
        p = parts + (i,)
        check.table(r, p, _REF_KEYS)
        citation = check.string(r.get("citation"), p + ("citation",))
        year = r.get("year")
        if year is not None:
            year = check.integer(year, p + ("year",), minimum=1800)
        conf = check.string(r.get("confidence", "U"), p + ("confidence",))
        if conf not in CONFIDENCE:
            raise check.fail(p + ("confidence",), f"unknown confidence tag {conf!r}; valid: "
                                                  f"{', '.join(CONFIDENCE)}")
        refs.append(Reference(citation=citation, year=year, confidence=conf))
    return refs


def _optional_sigma(check: Checker, data: dict, key: str, parts: tuple) -> float | None:
    if key not in data:
        return None
    return check.number(data[key], parts + (key,), positive=True)


def _parse_region(check: Checker, rname: str, data: Any) -> RegionDef:
    parts = ("regions", rname)
    check.table(data, parts, _REGION_KEYS)
    name = check.string(data.get("name", rname), parts + ("name",))
    doublet = check.boolean(data.get("doublet", False), parts + ("doublet",))
    region = RegionDef(name=name, doublet=doublet)
    if doublet:
        if "splitting" not in data:
            raise check.fail(parts, "a doublet region needs 'splitting' (eV)")
        region.splitting = check.number(data["splitting"], parts + ("splitting",), positive=True)
        region.ratio = check.number(data.get("ratio", 0.5), parts + ("ratio",), positive=True)
        if region.ratio > 1.5:
            raise check.fail(parts + ("ratio",), f"ratio (minor/major area) {region.ratio:g} "
                                                 "is implausible; expected about 0.5-1")
        region.splitting_sigma = _optional_sigma(check, data, "splitting_sigma", parts)
        region.ratio_sigma = _optional_sigma(check, data, "ratio_sigma", parts)
    else:
        for k in ("splitting", "ratio", "splitting_sigma", "ratio_sigma"):
            if k in data:
                raise check.fail(parts + (k,), f"{k!r} given but the region is not a doublet "
                                               "(set doublet = true)")
    region.sensitivity_factor = check.number(data.get("sensitivity_factor", 1.0),
                                             parts + ("sensitivity_factor",), positive=True)
    region.sensitivity_source = check.string(data.get("sensitivity_source", ""),
                                             parts + ("sensitivity_source",), nonempty=False)
    if "default_range" in data:
        region.default_range = check.pair(data["default_range"], parts + ("default_range",),
                                          "default_range")
    region.note = check.string(data.get("note", ""), parts + ("note",), nonempty=False)
    region.not_modelled = check.string(data.get("not_modelled", ""), parts + ("not_modelled",),
                                       nonempty=False)
    region.references = _parse_refs(check, data.get("references", []), parts + ("references",))
    species_raw = check.table(data.get("species", {}), parts + ("species",))
    spellings: dict[str, str] = {}
    shapes = lineshape_names()
    for skey, sdata in species_raw.items():
        sp = _parse_species(check, parts + ("species", skey), skey, sdata, shapes)
        for spelling in (sp.key, *sp.aliases):
            low = spelling.lower()
            if low in spellings:
                raise check.fail(parts + ("species", skey),
                                 f"name {spelling!r} of species {skey} is already used by "
                                 f"species {spellings[low]} (keys and aliases must be unique "
                                 "in a region, ignoring case)")
            spellings[low] = skey
        if region.default_range is not None:
            lo, hi = region.default_range
            if not lo <= sp.position <= hi:
                raise check.fail(parts + ("species", skey, "position"),
                                 f"position {sp.position:g} lies outside the region's "
                                 f"default_range ({lo:g}, {hi:g})")
        region.species[skey] = sp
    return region


def _parse_species(check: Checker, parts: tuple, key: str, data: Any,
                   shapes: tuple[str, ...]) -> SpeciesDef:
    check.table(data, parts, _SPECIES_KEYS)
    if not re.fullmatch(r"[^\s()\"']+", key):
        raise check.fail(parts, f"species key {key!r} must not contain spaces, quotes or "
                                "parentheses (it is used in link expressions)")
    for required in ("position", "window", "fwhm"):
        if required not in data:
            raise check.fail(parts, f"species {key} needs {required!r}")
    position = check.number(data["position"], parts + ("position",), positive=True,
                            within=ENERGY_LIMITS)
    window = check.pair(data["window"], parts + ("window",), "window", within=ENERGY_LIMITS)
    if not window[0] <= position <= window[1]:
        raise check.fail(parts + ("window",), f"window ({window[0]:g}, {window[1]:g}) excludes "
                                              f"the start position {position:g}")
    fwhm = check.pair(data["fwhm"], parts + ("fwhm",), "fwhm range", positive=True,
                      within=FWHM_LIMITS)
    lineshape = data.get("lineshape")
    if lineshape is not None:
        check.string(lineshape, parts + ("lineshape",))
        if lineshape not in shapes:
            raise check.fail(parts + ("lineshape",), f"unknown line shape {lineshape!r}; "
                                                     f"valid: {', '.join(shapes)}")
    aliases = check.string_list(data.get("aliases", []), parts + ("aliases",))
    for a in aliases:
        if not re.fullmatch(r"[^\s()\"']+", a):
            raise check.fail(parts + ("aliases",), f"alias {a!r} must not contain spaces, "
                                                   "quotes or parentheses")
    return SpeciesDef(
        key=key,
        label=check.string(data.get("label", key), parts + ("label",)),
        position=position, window=window, fwhm=fwhm, lineshape=lineshape,
        references=_parse_refs(check, data.get("references", []), parts + ("references",)),
        aliases=aliases,
        note=check.string(data.get("note", ""), parts + ("note",), nonempty=False),
    )
