"""Saving a rule compiles it: an expression that is invalid, reads a fact outside its
subject's schema, or could reach or cost more than a rule should, cannot be saved, and the
error says where. What compiles sees only the dict of primitive facts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.expressions import MAX_DEPTH, MAX_LENGTH, ExpressionInvalid, expression_compile
from risk.models import Rule
from risk.services import rule_save, rule_set_draft, rule_set_ensure


def refused(source: str, subject: str = "order") -> str:
    with pytest.raises(ExpressionInvalid) as caught:
        expression_compile(source=source, subject=subject)
    return str(caught.value)


def test_a_syntax_error_says_line_and_column():
    message = refused("amount >")
    assert "line 1, column 9" in message and "Syntax error" in message


def test_an_unknown_fact_is_named_with_its_column_and_what_may_be_read():
    message = refused("amount > 1 && counterparty == 'x'")  # transfers have it, orders not
    assert "Unknown fact counterparty (column 15)" in message and "notional" in message
    assert expression_compile(source="counterparty == 'x'", subject="transfer")


@pytest.mark.parametrize(
    "source",
    [
        "amount.__class__",  # attribute access on a fact
        "amount.__class__.__mro__",
        "partner_lists.__len__",
        "__import__('os').system('true')",
        "os.system('true')",
        "open('/etc/passwd')",
        "eval('1')",
        "timestamp('2020-01-01T00:00:00Z') > timestamp('2019-01-01T00:00:00Z')",
        "[1, 2, 3].map(x, [1, 2].map(y, x * y)).size() > 0",  # comprehensions multiply
        "partner_lists.exists(l, l == 'watch')",
        "(" * (MAX_DEPTH + 1) + "amount > 1" + ")" * (MAX_DEPTH + 1),
        "amount > 1 && " * 200 + "amount > 1",  # past MAX_LENGTH
        "asset == '" + "x" * MAX_LENGTH + "'",
        "",
        "   ",
    ],
)
def test_hostile_expressions_are_refused_on_save(source):
    assert refused(source)


def test_brackets_inside_strings_do_not_count_as_nesting():
    deep_string = "asset == '" + "(" * 100 + "'"
    assert expression_compile(source=deep_string, subject="order").variables == {"asset"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_either_compiles_to_facts_only_or_is_refused(source):
    try:
        compiled = expression_compile(source=source, subject="transfer")
    except ExpressionInvalid:
        return
    from risk.facts import FACTS_SCHEMA

    assert compiled.variables <= set(FACTS_SCHEMA["transfer"])


def test_an_invalid_rule_cannot_be_saved_and_nothing_is_written(db):
    draft = rule_set_draft(rule_set=rule_set_ensure(subject="transfer"))
    with pytest.raises(ExpressionInvalid, match="Unknown fact"):
        rule_save(rule=Rule(version=draft, name="x", reason_code="x", expression="amout > 5"))
    assert not Rule.objects.exists()
