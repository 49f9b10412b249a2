"""Actionpoint expressions: the recursive-descent parser and three-valued evaluation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.supervisor.expr import MAX_DEPTH, ExprError, evaluate, names, parse

IDS = ("a", "b", "c", "soc_low", "t2")


def test_precedence_is_not_then_and_then_or():
    assert parse("a or b and not c") == ("or", ("id", "a"), ("and", ("id", "b"), ("not", ("id", "c"))))
    assert parse("(a or b) and c") == ("and", ("or", ("id", "a"), ("id", "b")), ("id", "c"))
    assert parse("a and b and c") == ("and", ("and", ("id", "a"), ("id", "b")), ("id", "c"))


def test_names_lists_every_watchpoint_read():
    assert names(parse("not (soc_low or t2) and a")) == {"soc_low", "t2", "a"}


@pytest.mark.parametrize("text, where", [
    ("", "expected an expression"),
    ("   ", "expected an expression"),
    ("a and", "at the end: expected a watchpoint id"),
    ("a b", "at 2: expected 'and', 'or' or the end, got 'b'"),
    ("(a or b", "at the end: expected ')'"),
    ("a or b)", "at 6: expected 'and', 'or' or the end, got ')'"),
    ("a && b", "at 2: expected a watchpoint id, 'and', 'or', 'not' or a parenthesis, got '&'"),
    ("not", "at the end: expected a watchpoint id"),
    ("and a", "at 0: expected a watchpoint id, 'not' or '(', got 'and'"),
    ("()", "at 1: expected a watchpoint id"),
    ("a < 3", "at 2: expected a watchpoint id"),
    ("x" * 300, "at most 256 characters"),
    ("(" * (MAX_DEPTH + 2) + "a" + ")" * (MAX_DEPTH + 2), "levels of nesting"),
])
def test_a_malformed_expression_is_refused_saying_where(text, where):
    with pytest.raises(ExprError, match=None) as info:
        parse(text)
    assert where in str(info.value), f"{text!r}: got {info.value}"


def test_unknown_values_decide_nothing_unless_the_known_ones_do():
    t = parse("a and b")
    assert evaluate(t, {"a": False, "b": None}) is False
    assert evaluate(t, {"a": True, "b": None}) is None
    o = parse("a or b")
    assert evaluate(o, {"a": True}) is True, "a missing watchpoint must read as unknown"
    assert evaluate(o, {"a": False, "b": None}) is None
    assert evaluate(parse("not a"), {"a": None}) is None


# ------------------------------------------------------------------ properties
def _trees(depth: int = 4):
    leaf = st.sampled_from(IDS).map(lambda i: ("id", i))
    return st.recursive(leaf, lambda sub: st.one_of(
        sub.map(lambda n: ("not", n)),
        st.tuples(st.sampled_from(("and", "or")), sub, sub),
    ), max_leaves=12)


def _show(node) -> str:
    if node[0] == "id":
        return node[1]
    if node[0] == "not":
        return f"not ({_show(node[1])})"
    return f"({_show(node[1])}) {node[0]} ({_show(node[2])})"


def _truth(node, values):
    """The reference: Kleene logic written out by truth table."""
    if node[0] == "id":
        return values[node[1]]
    if node[0] == "not":
        v = _truth(node[1], values)
        return None if v is None else not v
    pair = (_truth(node[1], values), _truth(node[2], values))
    decisive = node[0] == "or"  # True decides an "or", False an "and"
    if decisive in pair:
        return decisive
    return None if None in pair else not decisive


@settings(max_examples=200, deadline=None)
@given(_trees(), st.fixed_dictionaries({i: st.sampled_from((True, False, None)) for i in IDS}))
def test_a_printed_expression_parses_back_to_the_same_meaning(tree, values):
    assert evaluate(parse(_show(tree)), values) == _truth(tree, values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "and", "or", "not", "(", ")", " ", "&", "1x", "=="]), max_size=12))
def test_any_token_soup_either_parses_or_raises_expr_error(tokens):
    text = " ".join(tokens)
    try:
        tree = parse(text)
    except ExprError:
        return
    assert names(tree) <= {"a", "b"}
