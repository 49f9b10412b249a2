"""Actionpoint expressions: watchpoint ids joined by ``and``, ``or``, ``not`` and
parentheses, parsed by a small recursive-descent parser (never ``eval``).

Grammar (``not`` binds tightest, then ``and``, then ``or``; both left-associative)::

    expr    := and_expr ("or" and_expr)*
    and_expr:= not_expr ("and" not_expr)*
    not_expr:= "not" not_expr | "(" expr ")" | ID
    ID      := [A-Za-z_][A-Za-z0-9_]*   (not a keyword)

Evaluation is three-valued (Kleene): a watchpoint is True (its condition holds), False,
or None (unknown: stale, disabled, or no value). ``False and None`` is False, ``True or
None`` is True, anything else with None is None — so an unknown watchpoint decides
nothing unless the known ones already decide the result. cFS LC's RPN does the same
with its STALE result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["ExprError", "Node", "parse", "names", "evaluate", "MAX_EXPR_CHARS", "MAX_DEPTH"]

MAX_EXPR_CHARS = 256
MAX_DEPTH = 32
KEYWORDS = ("and", "or", "not")
_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_]*)|(\S))")

# ("id", name) | ("not", node) | ("and", left, right) | ("or", left, right)
Node = tuple


class ExprError(ValueError):
    """A malformed expression; the text says where (character offset) and what was expected."""


def _tokens(text: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing blanks are left
            break
        start = m.start(m.lastindex)
        if m.group(4) is not None:
            raise ExprError(f"at {start}: expected a watchpoint id, 'and', 'or', 'not' or a parenthesis, "
                            f"got {m.group(4)!r}")
        out.append((start, m.group(m.lastindex)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def where(self) -> str:
        return f"at {self.toks[self.i][0]}" if self.i < len(self.toks) else "at the end"

    def take(self) -> str:
        tok = self.toks[self.i][1]
        self.i += 1
        return tok

    def expr(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExprError(f"{self.where()}: expected at most {MAX_DEPTH} levels of nesting")
        node = self.and_expr(depth)
        while self.peek() == "or":
            self.take()
            node = ("or", node, self.and_expr(depth))
        return node

    def and_expr(self, depth: int) -> Node:
        node = self.not_expr(depth)
        while self.peek() == "and":
            self.take()
            node = ("and", node, self.not_expr(depth))
        return node

    def not_expr(self, depth: int) -> Node:
        tok = self.peek()
        if depth > MAX_DEPTH:
            raise ExprError(f"{self.where()}: expected at most {MAX_DEPTH} levels of nesting")
        if tok == "not":
            self.take()
            return ("not", self.not_expr(depth + 1))
        if tok == "(":
            self.take()
            node = self.expr(depth + 1)
            if self.peek() != ")":
                got = "the end" if self.peek() is None else repr(self.peek())
                raise ExprError(f"{self.where()}: expected ')', got {got}")
            self.take()
            return node
        if tok is None or tok == ")" or tok in KEYWORDS:
            got = "the end" if tok is None else repr(tok)
            raise ExprError(f"{self.where()}: expected a watchpoint id, 'not' or '(', got {got}")
        return ("id", self.take())


def parse(text: str) -> Node:
    """Expression text -> syntax tree; raises ExprError saying where and what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError(f"expected an expression over watchpoint ids, got {text!r}")
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expected at most {MAX_EXPR_CHARS} characters, got {len(text)}")
    p = _Parser(text)
    node = p.expr(0)
    if p.peek() is not None:
        raise ExprError(f"{p.where()}: expected 'and', 'or' or the end, got {p.peek()!r}")
    return node


def names(node: Node) -> set[str]:
    """Every watchpoint id the expression reads."""
    if node[0] == "id":
        return {node[1]}
    return set().union(*(names(n) for n in node[1:]))


def evaluate(node: Node, values: Mapping[str, bool | None]) -> bool | None:
    """Three-valued result (None: unknown) given each watchpoint's result (missing: None)."""
    op = node[0]
    if op == "id":
        return values.get(node[1])
    if op == "not":
        v = evaluate(node[1], values)
        return None if v is None else not v
    a, b = evaluate(node[1], values), evaluate(node[2], values)
    if op == "and":
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if a is True or b is True:
        return True
    return None if a is None or b is None else False
