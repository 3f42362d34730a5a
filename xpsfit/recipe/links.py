"""Safe parsing of link and prior expressions written in recipes.

Recipes tie parameters together with readable text such as ``"fwhm(S0) = fwhm(polysulfide)"`` or
``"area(S2-) = 0.25 * area(PS4)"``. That text comes from files, so it is never evaluated: calls
``quantity(species)`` are cut out with a regular expression first (species keys like ``S2-`` or
``O-C=O`` are not Python names), replaced by placeholders, and the rest is parsed with
:mod:`ast` and checked against a strict whitelist (numbers, ``+ - * /``, unary minus,
parentheses). The result is an lmfit expression over :func:`xpsfit.recipe.naming.param_name` names.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping

from ..errors import RecipeError
from .naming import param_name

#: quantities every component has, whatever its line shape (splitting/ratio: doublets only)
BASE_QUANTITIES = ("position", "fwhm", "area", "splitting", "ratio")

#: longest expression accepted; real links are a few dozen characters
MAX_LENGTH = 400

# quantity(species): species may hold - + = * / . spaces, but no parentheses
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(([^()]*)\)")
_PLACEHOLDER = "XPSFITREF"
_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_ALLOWED_UNARY = (ast.USub, ast.UAdd)


def shape_quantities() -> tuple[str, ...]:
    """Shape-parameter names of every registered line shape (``eta``, ``m``, ...)."""
    from ..numerics.lineshapes import LINESHAPES
    names: set[str] = set()
    for shape in LINESHAPES.values():
        names.update(shape.shape_params)
    return tuple(sorted(names))


def valid_quantities() -> tuple[str, ...]:
    return BASE_QUANTITIES + tuple(q for q in shape_quantities() if q not in BASE_QUANTITIES)


def _species_map(species_keys: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """Accepted spelling -> canonical key (a mapping lets aliases through)."""
    if isinstance(species_keys, Mapping):
        return {str(k): str(v) for k, v in species_keys.items()}
    return {str(k): str(k) for k in species_keys}


def _substitute_calls(text: str, species: dict[str, str], quantities: tuple[str, ...],
                      spectrum: int | None) -> tuple[str, dict[str, str]]:
    """Replace every ``quantity(species)`` by a placeholder; return text and placeholder map."""
    found: dict[str, str] = {}

    def repl(m: re.Match) -> str:
        quantity, sp = m.group(1), m.group(2).strip()
        if quantity not in quantities:
            raise RecipeError(f"unknown quantity {quantity!r} in {text!r}; valid: "
                              f"{', '.join(quantities)}")
        if sp not in species:
            canon = {k.lower(): v for k, v in species.items()}.get(sp.lower())
            if canon is None:
                raise RecipeError(f"unknown species {sp!r} in {text!r}; valid: "
                                  f"{', '.join(sorted(set(species.values()))) or '(none)'}")
        else:
            canon = species[sp]
        token = f"{_PLACEHOLDER}{len(found)}"
        found[token] = param_name(canon, quantity, spectrum)
        return f" {token} "

    return _CALL.sub(repl, text), found


def _check_node(node: ast.AST, placeholders: dict[str, str], text: str) -> None:
    """Walk the tree; anything outside the arithmetic whitelist is refused."""
    if isinstance(node, ast.Expression):
        _check_node(node.body, placeholders, text)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _ALLOWED_BINOPS):
            raise RecipeError(f"operator {type(node.op).__name__} is not allowed in {text!r}; "
                              "use + - * / and parentheses")
        _check_node(node.left, placeholders, text)
        _check_node(node.right, placeholders, text)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _ALLOWED_UNARY):
            raise RecipeError(f"operator {type(node.op).__name__} is not allowed in {text!r}")
        _check_node(node.operand, placeholders, text)
    elif isinstance(node, ast.Constant):
        # bool is an int subclass; complex and str are refused too
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise RecipeError(f"only numbers are allowed as constants in {text!r}, "
                              f"not {node.value!r}")
        if abs(node.value) > 1e12:
            raise RecipeError(f"number {node.value!r} is too large in {text!r}")
    elif isinstance(node, ast.Name):
        if node.id not in placeholders:
            raise RecipeError(f"name {node.id!r} is not allowed in {text!r}; write "
                              f"quantity(species), e.g. fwhm(PS4)")
    else:
        raise RecipeError(f"{type(node).__name__} is not allowed in {text!r}; only numbers, "
                          "+ - * /, parentheses and quantity(species) are")


def _compile(side: str, placeholders: dict[str, str], text: str) -> ast.Expression:
    try:
        tree = ast.parse(side.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise RecipeError(f"cannot parse expression {text!r}") from None
    _check_node(tree, placeholders, text)
    return tree


def _to_lmfit(tree: ast.Expression, placeholders: dict[str, str]) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = placeholders[node.id]
    return ast.unparse(tree)


def _prepare(text: str, species_keys, quantities, spectrum) -> tuple[str, dict[str, str]]:
    if not isinstance(text, str):
        raise RecipeError(f"expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise RecipeError(f"expression is longer than {MAX_LENGTH} characters")
    if _PLACEHOLDER.lower() in text.lower():
        raise RecipeError(f"{_PLACEHOLDER} is reserved and cannot appear in {text!r}")
    quantities = tuple(quantities) if quantities is not None else valid_quantities()
    return _substitute_calls(text, _species_map(species_keys), quantities, spectrum)


def parse_expression(text: str, species_keys: Iterable[str] | Mapping[str, str], *,
                     quantities: Iterable[str] | None = None,
                     spectrum: int | None = None) -> str:
    """``"position(S0) - position(polysulfide)"`` -> ``"S0_position - polysulfide_position"``.

    ``species_keys``: the recipe's component keys, or a mapping spelling -> canonical key (to
    accept aliases). Raises :class:`RecipeError` for anything but plain arithmetic on
    ``quantity(species)`` terms and numbers.
    """
    body, placeholders = _prepare(text, species_keys, quantities, spectrum)
    if not placeholders:
        raise RecipeError(f"expression {text!r} refers to no quantity(species)")
    if "=" in body:
        raise RecipeError(f"'=' is not allowed in expression {text!r}")
    return _to_lmfit(_compile(body, placeholders, text), placeholders)


def parse_link(text: str, species_keys: Iterable[str] | Mapping[str, str], *,
               quantities: Iterable[str] | None = None,
               spectrum: int | None = None) -> tuple[str, str]:
    """``"fwhm(S0) = fwhm(polysulfide)"`` -> ``("S0_fwhm", "polysulfide_fwhm")``.

    The left side must be exactly one ``quantity(species)``; the right side an expression as in
    :func:`parse_expression` (it may be a plain number, which fixes the target).
    """
    body, placeholders = _prepare(text, species_keys, quantities, spectrum)
    if body.count("=") != 1:
        raise RecipeError(f"a link needs exactly one '=' (target = expression), got {text!r}")
    left, right = body.split("=")
    target = left.strip()
    if target not in placeholders:
        raise RecipeError(f"the left side of link {text!r} must be one quantity(species), "
                          "e.g. fwhm(S0)")
    expr = _to_lmfit(_compile(right, placeholders, text), placeholders)
    target_param = placeholders[target]
    if re.search(rf"\b{re.escape(target_param)}\b", expr):
        raise RecipeError(f"link {text!r} refers to its own target")
    return target_param, expr
