"""The compiled fit problem: parameter table, θ layout, links as P = M·θ + c, line table, priors.

One :class:`Structure` describes every problem xpsfit solves: one spectrum (``n_spectra = 1``),
a joint series (shared parameters + per-spectrum ones, one rigid shift per spectrum) and — because
it does not depend on the data — every pixel of a map. It is built once by :func:`compile_problem`
from the recipe alone and never changes; data-dependent start values come from
:mod:`xpsfit.engine.data`.

Parameters ``P`` (named, in :attr:`Structure.names`) are free (one column of θ each), fixed, or
linked (an expression of other parameters, from the recipe's links). Links are arithmetic
(:mod:`xpsfit.recipe.links`), so in almost every recipe they are affine and ``P = M·θ + c`` holds exactly
(coefficients read off the expression tree, not by finite differences). A product or quotient of
two parameters makes the structure non-affine: linked values are then evaluated from their
compiled expressions and ∂P/∂θ comes from a finite difference on the expressions only.

Names: ``PS4_position`` (:func:`xpsfit.recipe.naming.param_name`); in a series every parameter that is
not shared is ``s{j}_<name>`` and ``s{j}_shift`` is spectrum j's rigid shift (``s0_shift`` fixed
at 0 so the shared positions are those of the first spectrum).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import FitError, RecipeError
from ..numerics.lineshapes import get_lineshape
from ..recipe.links import parse_expression, parse_link
from ..recipe.naming import param_name
from ..recipe.spec import Recipe
from ..numerics.backgrounds import BACKGROUNDS

#: name (single-fit form) of a spectrum's rigid energy shift in a series
SHIFT = "shift"
#: line quantities every component has (splitting/ratio only for doublets)
QUANTITIES = ("position", "fwhm", "area", "splitting", "ratio")
#: what [series] shared may list, and which parameter quantities each word covers
SHARE_WORDS = ("position", "fwhm", "shape", "splitting", "ratio")

MATH = {n: getattr(np, n) for n in ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "abs",
                                     "arctan", "pi")}
MATH.update(min=np.minimum, max=np.maximum)
#: namespace for compiled link/prior expressions (already whitelisted by xpsfit.recipe.links)
EXPR_GLOBALS = {"__builtins__": {}, **MATH}


@dataclass(frozen=True)
class Param:
    name: str
    value: float                  # start value (the value itself when fixed)
    min: float = -math.inf
    max: float = math.inf
    kind: str = "free"            # free | fixed | linked
    expr: str | None = None       # linked: expression over other parameter names
    quantity: str = ""            # position, fwhm, area, splitting, ratio, <shape>, c0, k, shift
    species: str | None = None
    spectrum: int | None = None   # None: shared by every spectrum (or a single fit)
    single: str = ""              # the parameter's name in a single-spectrum fit


@dataclass(frozen=True)
class Component:
    species: str
    label: str
    lineshape: str
    doublet: bool
    shape_names: tuple[str, ...]


@dataclass(frozen=True)
class Prior:
    label: str
    expr: str
    target: float
    sigma: float


@dataclass(frozen=True, eq=False)
class Structure:
    """See the module docstring. Arrays are read-only by convention (never modified)."""
    recipe: Recipe
    n_spectra: int
    params: tuple[Param, ...]
    components: tuple[Component, ...]
    priors: tuple[Prior, ...]
    bg_type: str
    shared: frozenset[str]        # names of shared parameters (series)
    use_shift: bool
    series: bool = False          # parameter names carry s{j}_ unless shared
    # derived (filled by __post_init__)
    names: tuple[str, ...] = ()
    index: dict = field(default_factory=dict)
    var_names: tuple[str, ...] = ()
    lo: np.ndarray = None
    hi: np.ndarray = None
    theta0: np.ndarray = None
    affine: bool = True
    M: np.ndarray = None          # (nP + 1, nθ); the last row is zero (index -1 = "none")
    c: np.ndarray = None          # (nP + 1,)
    linked_order: tuple = ()      # ((index, code), ...) evaluation order of linked params
    R: np.ndarray = None          # priors: value = R·θ + r0 (affine)
    r0: np.ndarray = None
    prior_code: tuple = ()
    qidx: np.ndarray = None       # (n_spectra, n_comp, 5) parameter index per QUANTITIES, -1
    shape_idx: dict = field(default_factory=dict)   # shape name -> (n_spectra, n_comp), -1
    shift_idx: np.ndarray = None  # (n_spectra,), -1 without shifts
    bg_idx: np.ndarray = None     # (n_spectra, 2): c0, k of the active Shirley, -1
    line_comp: np.ndarray = None  # (L,) component of each line
    line_minor: np.ndarray = None # (L,) the doublet's minor (higher-BE) line
    cache: dict = field(default_factory=dict, repr=False)   # evaluate's per-segment tables

    def __post_init__(self):
        s = object.__setattr__
        names = tuple(p.name for p in self.params)
        index = {n: i for i, n in enumerate(names)}
        free = [i for i, p in enumerate(self.params) if p.kind == "free"]
        s(self, "names", names)
        s(self, "index", index)
        s(self, "var_names", tuple(names[i] for i in free))
        s(self, "lo", np.array([self.params[i].min for i in free], float))
        s(self, "hi", np.array([self.params[i].max for i in free], float))
        s(self, "theta0", np.clip(np.array([self.params[i].value for i in free], float),
                                  self.lo, self.hi))
        self._compile_links(index, free)
        self._compile_priors()
        self._index_tables(index)

    # ----------------------------------------------------------------- links
    def _compile_links(self, index: dict, free: list[int]) -> None:
        nP, nv = len(self.params), len(free)
        M = np.zeros((nP + 1, nv))
        c = np.zeros(nP + 1)
        col = {i: k for k, i in enumerate(free)}
        for i, p in enumerate(self.params):
            if p.kind == "free":
                M[i, col[i]] = 1.0
            elif p.kind == "fixed":
                c[i] = p.value
        linked = [i for i, p in enumerate(self.params) if p.kind == "linked"]
        order = _topological(self.params, linked, index)
        affine = True
        for i in order:
            form = affine_form(self.params[i].expr)
            if form is None:
                affine = False
                continue
            coefs, const = form
            for name, a in coefs.items():
                j = index[name]
                M[i] += a * M[j]
                c[i] += a * c[j]
            c[i] += const
        s = object.__setattr__
        s(self, "affine", affine)
        s(self, "M", M)
        s(self, "c", c)
        s(self, "linked_order", tuple((i, compile(self.params[i].expr, "<link>", "eval"))
                                      for i in order))

    def _compile_priors(self) -> None:
        s = object.__setattr__
        nv = len(self.var_names)
        R = np.zeros((len(self.priors), nv))
        r0 = np.zeros(len(self.priors))
        ok = self.affine
        for k, pr in enumerate(self.priors):
            form = affine_form(pr.expr)
            if form is None:
                ok = False
                continue
            for name, a in form[0].items():
                j = self.index[name]
                R[k] += a * self.M[j]
                r0[k] += a * self.c[j]
            r0[k] += form[1]
        s(self, "R", R if ok else None)
        s(self, "r0", r0 if ok else None)
        s(self, "prior_code", tuple(compile(p.expr, "<prior>", "eval") for p in self.priors))

    # ----------------------------------------------------------------- lines
    def _index_tables(self, index: dict) -> None:
        s = object.__setattr__
        ns, nc = self.n_spectra, len(self.components)
        qidx = np.full((ns, nc, len(QUANTITIES)), -1, dtype=np.intp)
        shape_idx: dict[str, np.ndarray] = {}
        for j in range(ns):
            for ci, comp in enumerate(self.components):
                for qi, q in enumerate(QUANTITIES):
                    name = self.name_of(param_name(comp.species, q), j)
                    qidx[j, ci, qi] = index.get(name, -1)
                for n in comp.shape_names:
                    arr = shape_idx.setdefault(n, np.full((ns, nc), -1, dtype=np.intp))
                    arr[j, ci] = index[self.name_of(param_name(comp.species, n), j)]
        shift = np.array([index.get(f"s{j}_{SHIFT}", -1) for j in range(ns)], dtype=np.intp)
        bg = np.array([[index.get(self.name_of(f"bg_{q}", j), -1) for q in ("c0", "k")]
                       for j in range(ns)], dtype=np.intp).reshape(ns, 2)
        comp_of, minor = [], []
        for ci, comp in enumerate(self.components):
            comp_of.append(ci)
            minor.append(False)
            if comp.doublet:
                comp_of.append(ci)
                minor.append(True)
        s(self, "qidx", qidx)
        s(self, "shape_idx", shape_idx)
        s(self, "shift_idx", shift)
        s(self, "bg_idx", bg)
        s(self, "line_comp", np.array(comp_of, dtype=np.intp))
        s(self, "line_minor", np.array(minor, dtype=bool))

    # ----------------------------------------------------------------- views
    @property
    def species(self) -> list[str]:
        return [c.species for c in self.components]

    @property
    def n_vars(self) -> int:
        return len(self.var_names)

    def name_of(self, single: str, j: int) -> str:
        """Name of single-fit parameter ``single`` for spectrum j in this structure."""
        if not self.series:
            return single
        return single if single in self.shared else f"s{j}_{single}"

    def param(self, name: str) -> Param:
        return self.params[self.index[name]]

    def values(self, theta: np.ndarray) -> np.ndarray:
        """All parameter values P (B, nP + 1) for θ (B, nθ); the last column is 0."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        P = theta @ self.M.T + self.c
        if not self.affine:
            self._eval_linked(P)
        return P

    def gradients(self, theta: np.ndarray, P: np.ndarray | None = None) -> np.ndarray:
        """∂P/∂θ: (nP + 1, nθ) when affine, else (B, nP + 1, nθ)."""
        if self.affine:
            return self.M
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        P = self.values(theta) if P is None else P
        G = np.repeat(self.M[None], theta.shape[0], axis=0)
        rows = [i for i, _ in self.linked_order]
        for v in range(self.n_vars):
            h = 1e-7 * np.maximum(1.0, np.abs(theta[:, v]))
            t = theta.copy()
            t[:, v] += h
            Pv = self.values(t)
            G[:, rows, v] = (Pv[:, rows] - P[:, rows]) / h[:, None]
        return G

    def _eval_linked(self, P: np.ndarray) -> None:
        ns = {n: P[:, i] for i, n in enumerate(self.names)}
        for i, code in self.linked_order:
            val = eval(code, EXPR_GLOBALS, ns)
            P[:, i] = val
            ns[self.names[i]] = P[:, i]

    def prior_values(self, theta: np.ndarray, P: np.ndarray) -> np.ndarray:
        """Prior expressions (B, n_prior)."""
        if self.R is not None:
            return theta @ self.R.T + self.r0
        ns = {n: P[:, i] for i, n in enumerate(self.names)}
        return np.stack([np.broadcast_to(np.asarray(eval(c, EXPR_GLOBALS, ns), float),
                                         (P.shape[0],)) for c in self.prior_code], axis=1)

    def prior_jacobian(self, theta: np.ndarray, P: np.ndarray) -> np.ndarray:
        """∂(prior)/∂θ: (n_prior, nθ) when affine, else (B, n_prior, nθ)."""
        if self.R is not None:
            return self.R
        base = self.prior_values(theta, P)
        out = np.empty((theta.shape[0], len(self.priors), self.n_vars))
        for v in range(self.n_vars):
            h = 1e-7 * np.maximum(1.0, np.abs(theta[:, v]))
            t = theta.copy()
            t[:, v] += h
            out[:, :, v] = (self.prior_values(t, self.values(t)) - base) / h[:, None]
        return out

    def with_fixed(self, values: dict[str, float]) -> "Structure":
        """The same problem with the named parameters fixed at the given values (a presence
        test's nested model: an area at 0; a local refit with shared values held)."""
        params = []
        for p in self.params:
            if p.name in values:
                p = replace(p, kind="fixed", value=float(values[p.name]), expr=None)
            params.append(p)
        cache = {"singles": self.cache["singles"]} if "singles" in self.cache else {}
        return replace(self, params=tuple(params), names=(), index={}, cache=cache)


# ------------------------------------------------------------------ expression analysis
def affine_form(expr: str) -> tuple[dict[str, float], float] | None:
    """``"2*a + b/4 - 1"`` -> ({"a": 2, "b": 0.25}, -1); None when not affine in the names."""
    try:
        tree = ast.parse(expr, mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return {}, float(node.value)
        if isinstance(node, ast.Name):
            return {node.id: 1.0}, 0.0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            f = walk(node.operand)
            if f is None:
                return None
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return {k: sign * v for k, v in f[0].items()}, sign * f[1]
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, (ast.Add, ast.Sub)):
                sign = 1.0 if isinstance(node.op, ast.Add) else -1.0
                coefs = dict(a[0])
                for k, v in b[0].items():
                    coefs[k] = coefs.get(k, 0.0) + sign * v
                return coefs, a[1] + sign * b[1]
            if isinstance(node.op, ast.Mult):
                if not a[0]:
                    return {k: a[1] * v for k, v in b[0].items()}, a[1] * b[1]
                if not b[0]:
                    return {k: b[1] * v for k, v in a[0].items()}, a[1] * b[1]
                return None
            if isinstance(node.op, ast.Div) and not b[0] and b[1] != 0.0:
                return {k: v / b[1] for k, v in a[0].items()}, a[1] / b[1]
        return None

    return walk(tree)


def _names_in(expr: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError, RecursionError):
        return set()


def _topological(params, linked: list[int], index: dict) -> list[int]:
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(i, stack):
        if state.get(i) == 2:
            return
        if state.get(i) == 1:
            raise FitError(f"circular link involving {params[i].name!r}", key="links")
        state[i] = 1
        for dep in _names_in(params[i].expr):
            if dep not in index:
                raise FitError(f"link {params[i].name} = {params[i].expr} refers to unknown "
                               f"parameter {dep!r}", key="links")
            j = index[dep]
            if params[j].kind == "linked":
                visit(j, stack)
        state[i] = 2
        order.append(i)

    for i in linked:
        visit(i, ())
    return order


# ------------------------------------------------------------------ compile from a recipe
def _recipe_error(recipe: Recipe, message: str, key: str) -> RecipeError:
    return RecipeError(message, path=recipe.source or None, key=key)


def single_params(recipe: Recipe) -> tuple[list[Param], list[Component], list[Prior]]:
    """The parameter table of one spectrum (start values from the recipe; areas and the active
    Shirley's c0, k get their data-dependent starts in :mod:`xpsfit.engine.data`)."""
    if not recipe.components:
        raise _recipe_error(recipe, "recipe has no components", "components")
    bg = (recipe.background.type or "none").lower()
    if bg not in BACKGROUNDS:
        raise _recipe_error(recipe, f"unknown background type {recipe.background.type!r} "
                            f"(choose one of {', '.join(BACKGROUNDS)})", "background")
    keys = [c.species for c in recipe.components]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise _recipe_error(recipe, f"component name(s) {', '.join(dup)} appear twice; give each "
                            "component its own name", "components")
    params: list[Param] = []
    comps: list[Component] = []
    priors: list[Prior] = []
    first_shape: dict[str, str] = {}

    def add(name, value, lo=-math.inf, hi=math.inf, kind="free", expr=None, q="", sp=None):
        params.append(Param(name, float(value), float(lo), float(hi), kind, expr, q, sp,
                            single=name))

    for spec in recipe.components:
        shape_name = spec.lineshape or recipe.lineshape or "pseudo_voigt"
        try:
            ls = get_lineshape(shape_name)
        except RecipeError as exc:
            raise _recipe_error(recipe, exc.message, "lineshape") from None
        sp = spec.species
        regional = spec.lineshape is None or \
            get_lineshape(recipe.lineshape or "pseudo_voigt").name == ls.name
        comps.append(Component(sp, spec.label or sp, ls.name, bool(spec.doublet),
                               tuple(ls.shape_params)))
        lo, hi = sorted(float(v) for v in spec.window)
        add(param_name(sp, "position"), min(max(float(spec.position), lo), hi), lo, hi,
            q="position", sp=sp)
        flo, fhi = sorted(float(v) for v in spec.fwhm_bounds)
        if spec.fwhm_vary:
            fw = float(spec.fwhm) if flo < spec.fwhm < fhi else 0.5 * (flo + fhi)
            add(param_name(sp, "fwhm"), fw, flo, fhi, q="fwhm", sp=sp)
        else:
            add(param_name(sp, "fwhm"), float(spec.fwhm), kind="fixed", q="fwhm", sp=sp)
        add(param_name(sp, "area"), spec.area if spec.area is not None else 1.0, 0.0, math.inf,
            q="area", sp=sp)
        for n, (dflt, smin, smax) in ls.shape_params.items():
            pname = param_name(sp, n)
            if spec.shape_vary is not None:
                # the component's own choice: its own free parameter, or held at its start
                val = float(spec.shape.get(n, recipe.shape.get(n, dflt)))
                if spec.shape_vary:
                    add(pname, min(max(val, smin), smax), smin, smax, q=n, sp=sp)
                else:
                    add(pname, val, kind="fixed", q=n, sp=sp)
                continue
            if n in spec.shape:
                add(pname, spec.shape[n], kind="fixed", q=n, sp=sp)
                continue
            val = float(recipe.shape.get(n, dflt))
            if recipe.shape_vary and not regional:
                # the region's one shared shape is the recipe's line shape: a library species of
                # its own shape (C sp² as LA) keeps it held unless it says shape_vary itself —
                # three free LA parameters per C 1s made fits of 2 600 evaluations (35 s)
                add(pname, val, kind="fixed", q=n, sp=sp)
            elif recipe.shape_vary and n in first_shape:
                add(pname, val, smin, smax, kind="linked", expr=first_shape[n], q=n, sp=sp)
            elif recipe.shape_vary:
                add(pname, min(max(val, smin), smax), smin, smax, q=n, sp=sp)
                first_shape[n] = pname
            else:
                add(pname, val, kind="fixed", q=n, sp=sp)
        if spec.doublet:
            for q, value, sigma in (("splitting", spec.splitting, spec.splitting_sigma),
                                    ("ratio", spec.ratio, spec.ratio_sigma)):
                pname = param_name(sp, q)
                if sigma is None or not sigma > 0:
                    add(pname, value, kind="fixed", q=q, sp=sp)
                else:
                    add(pname, value, max(0.0, value - 10 * sigma), value + 10 * sigma, q=q,
                        sp=sp)
                    priors.append(Prior(f"{q}({sp})", pname, float(value), float(sigma)))
    if bg == "shirley_active":
        add("bg_c0", 0.0, q="c0")
        add("bg_k", 0.0, q="k")
    # links and priors accept library aliases (recipe.species_map), one rule for every front-end
    species = recipe.species_map()
    by_name = {p.name: i for i, p in enumerate(params)}
    for text in recipe.links:
        try:
            target, expr = parse_link(text, species)
        except RecipeError as exc:
            raise _recipe_error(recipe, exc.message, "links") from None
        if target not in by_name:
            raise _recipe_error(recipe, f"link {text!r} targets {target!r}, which is not a "
                                "parameter of this recipe", "links")
        for dep in _names_in(expr):
            if dep not in by_name:
                raise _recipe_error(recipe, f"link {text!r} refers to {dep!r}, which is not a "
                                    "parameter of this recipe (a singlet has no splitting/ratio)",
                                    "links")
        i = by_name[target]
        params[i] = replace(params[i], kind="linked", expr=expr)
    for pr in recipe.priors:
        if not pr.sigma > 0:
            raise _recipe_error(recipe, f"prior {pr.target!r} needs a positive sigma", "priors")
        try:
            expr = parse_expression(pr.target, species)
        except RecipeError as exc:
            raise _recipe_error(recipe, exc.message, "priors") from None
        for dep in _names_in(expr):
            if dep not in by_name:
                raise _recipe_error(recipe, f"prior {pr.target!r} refers to {dep!r}, which is "
                                    "not a parameter of this recipe", "priors")
        priors.append(Prior(pr.target, expr, float(pr.value), float(pr.sigma)))
    return params, comps, priors


def _share_word(p: Param, comps: dict[str, Component]) -> str | None:
    if p.quantity in ("position", "fwhm", "splitting", "ratio"):
        return p.quantity
    if p.species is not None and p.quantity in comps[p.species].shape_names:
        return "shape"
    return None


def compile_problem(recipe: Recipe, n_spectra: int = 1, *, series: bool = False,
                    free_first_shift: bool = False) -> Structure:
    """The :class:`Structure` of ``recipe`` for one spectrum, or a joint series of
    ``n_spectra`` (``series=True``: sharing and shifts from ``recipe.series``).

    ``free_first_shift``: the first spectrum's shift is free too (a local refit of one spectrum
    of a series with the shared values held, as the presence tests do)."""
    params, comps, priors = single_params(recipe)
    bg = (recipe.background.type or "none").lower()
    if not series:
        st = Structure(recipe, 1, tuple(params), tuple(comps), tuple(priors), bg, frozenset(),
                       False)
        st.cache["singles"] = params
        return st
    by_species = {c.species: c for c in comps}
    words = set(recipe.series.shared)
    for w in words:
        if w not in SHARE_WORDS:
            raise _recipe_error(recipe, f"cannot share {w!r} across a series; valid: "
                                f"{', '.join(SHARE_WORDS)}", "series.shared")
        listed = [p for p in params if _share_word(p, by_species) == w]
        if listed and all(p.kind == "fixed" for p in listed):
            raise _recipe_error(recipe, f"[series] shared lists {w!r}, but every {w} parameter "
                                "is fixed by the recipe: a shared quantity is fitted; remove it "
                                "from 'shared' or let it vary (e.g. shape_vary = true)",
                                "series.shared")
    shared = {p.name for p in params if _share_word(p, by_species) in words}
    # a shared parameter linked to a per-spectrum one cannot be shared
    changed = True
    while changed:
        changed = False
        for p in params:
            if p.name in shared and p.expr and any(d not in shared for d in _names_in(p.expr)):
                shared.discard(p.name)
                changed = True
    positions = [p for p in params if p.quantity == "position"]
    use_shift = (recipe.series.shift == "per_spectrum" and (n_spectra > 1 or free_first_shift)
                 and all(p.name in shared for p in positions))
    out: list[Param] = [p for p in params if p.name in shared]
    single_names = {p.name for p in params}

    def rename(expr: str, j: int) -> str:
        return _rename(expr, lambda n: n if n in shared or n not in single_names
                       else f"s{j}_{n}")

    for j in range(n_spectra):
        for p in params:
            if p.name in shared:
                continue
            out.append(replace(p, name=f"s{j}_{p.name}", spectrum=j,
                               expr=rename(p.expr, j) if p.expr else None))
        if use_shift:
            lo, hi = recipe.series.shift_bounds
            if j == 0 and not free_first_shift:
                out.append(Param(f"s0_{SHIFT}", 0.0, kind="fixed", quantity=SHIFT, spectrum=0,
                                 single=SHIFT))
            else:
                out.append(Param(f"s{j}_{SHIFT}", 0.0, lo, hi, quantity=SHIFT, spectrum=j,
                                 single=SHIFT))
    # priors once per distinct expression (a prior on shared quantities is one term)
    seen: dict[str, Prior] = {}
    for j in range(n_spectra):
        for pr in priors:
            e = rename(pr.expr, j)
            if e not in seen:
                label = pr.label if all(n in shared for n in _names_in(e)) or n_spectra == 1 \
                    else f"{pr.label} [{j}]"
                seen[e] = Prior(label, e, pr.target, pr.sigma)
    st = Structure(recipe, n_spectra, tuple(out), tuple(comps), tuple(seen.values()), bg,
                   frozenset(shared), use_shift, series=True)
    st.cache["singles"] = params
    return st


def _rename(expr: str, fn) -> str:
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = fn(node.id)
    return ast.unparse(tree)


__all__ = ["Structure", "Param", "Component", "Prior", "compile_problem", "affine_form",
           "single_params", "QUANTITIES", "EXPR_GLOBALS", "SHIFT"]
