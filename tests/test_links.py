"""Link and prior expressions: translation to lmfit names, and refusal of everything else."""
import pytest

from xpsfit.errors import RecipeError
from xpsfit.recipe.links import parse_expression, parse_link
from xpsfit.recipe.naming import param_name

KEYS = ["PS4", "S2-", "polysulfide", "S0", "O-C=O", "C=O"]


def test_link_equal_fwhm():
    assert parse_link("fwhm(S0) = fwhm(polysulfide)", KEYS) == ("S0_fwhm", "polysulfide_fwhm")


def test_link_area_ratio_with_species_that_are_not_identifiers():
    target, expr = parse_link("area(S2-) = 0.25 * area(PS4)", KEYS)
    assert target == "S2m_area"
    assert expr == "0.25 * PS4_area"


def test_link_keys_containing_equals_sign():
    target, expr = parse_link("position(O-C=O) = position(C=O) + 1.0", KEYS)
    assert (target, expr) == (param_name("O-C=O", "position"),
                              f"{param_name('C=O', 'position')} + 1.0")


def test_link_to_a_number_and_unary_minus_and_parentheses():
    assert parse_link("fwhm(S0) = 1.2", KEYS) == ("S0_fwhm", "1.2")
    _, expr = parse_link("position(S0) = -(-position(PS4) - 2.4) / 1", KEYS)
    assert "PS4_position" in expr and "2.4" in expr


def test_expression_evaluates_like_the_text():
    expr = parse_expression("position(S0) - position(polysulfide)", KEYS)
    assert expr == "S0_position - polysulfide_position"
    assert eval(expr, {"S0_position": 164.0, "polysulfide_position": 163.1}) == \
        pytest.approx(0.9)


def test_aliases_through_a_mapping_and_series_prefix():
    target, expr = parse_link("fwhm(sulfide) = fwhm(PS4)", {"S2-": "S2-", "sulfide": "S2-",
                                                            "PS4": "PS4"}, spectrum=3)
    assert (target, expr) == ("s3_S2m_fwhm", "s3_PS4_fwhm")


def test_shape_quantity_allowed():
    assert parse_link("eta(S0) = eta(PS4)", KEYS) == ("S0_eta", "PS4_eta")


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('x')", "unknown quantity"),
    ("fwhm(S0) = __import__('os').system('rm -rf /')", "unknown quantity"),
    ("fwhm(S0) = fwhm(PS4).real", "not allowed"),
    ("fwhm(S0) = os", "not allowed"),
    ("fwhm(S0) = 'text'", "only numbers"),
    ("fwhm(S0) = (lambda: 1)", "Lambda is not allowed"),
    ("fwhm(S0) = [x for x in fwhm(PS4)]", "not allowed"),
    ("fwhm(S0) = fwhm(PS4) ** 9999999999", "not allowed"),
    ("fwhm(S0) = 2 ** 2", "not allowed"),
    ("fwhm(S0) = fwhm(PS4) % 2", "not allowed"),
    ("fwhm(S0) = fwhm(Mo6+)", "unknown species"),
    ("width(S0) = fwhm(PS4)", "unknown quantity"),
    ("fwhm(S0) == fwhm(PS4)", "exactly one '='"),
    ("fwhm(S0) + 1 = fwhm(PS4)", "left side"),
    ("fwhm(S0) = 2 * fwhm(S0)", "its own target"),
    ("fwhm(S0) = fwhm(PS4) if 1 else 2", "not allowed"),
    ("fwhm(S0) = True", "only numbers"),
    ("fwhm(S0) = 1e400", "too large"),
    ("fwhm(S0) = " + "(" * 300 + "1" + ")" * 300, "longer than"),
    ("fwhm(S0) = XPSFITREF0", "reserved"),
    ("fwhm(S0) = fwhm(PS4); import os", "cannot parse"),
])
def test_hostile_or_wrong_links_are_refused(text, fragment):
    with pytest.raises(RecipeError) as err:
        parse_link(text, KEYS)
    assert fragment in str(err.value)


def test_unknown_species_lists_valid_keys():
    with pytest.raises(RecipeError, match=r"valid: .*PS4.*polysulfide"):
        parse_expression("position(X) - position(PS4)", KEYS)


def test_expression_without_reference_or_with_assignment_refused():
    with pytest.raises(RecipeError, match="refers to no"):
        parse_expression("1 + 2", KEYS)
    with pytest.raises(RecipeError, match="'='"):
        parse_expression("fwhm(S0) = 1", KEYS)
