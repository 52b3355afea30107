"""The condition language: ``NAME OP VALUE`` comparisons joined by ``and``, ``or``, ``not``.

A name followed by a measure (``remaining``, ``elapsed``, ``overdue``, ``breached``) is a
named SLA clock of the binding ``"sla"`` (``"next_response remaining <= 15m"``, see
:mod:`._sla_conditions`).

A small recursive-descent parser, no ``eval``: names resolve through a
:class:`~._registry.Registry`, and ``not`` and parentheses nest at most
:data:`MAX_NESTING` deep. Imports :mod:`._registry` and the trigger combinators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promisekit._validation import describe
from promisekit.errors import InvalidValueError, PromiseKitError
from promisekit.escalation._registry import DEFAULT_REGISTRY, KEYWORDS, Registry, find_trigger
from promisekit.escalation._sla_conditions import MEASURES, clock_condition
from promisekit.escalation._triggers import AllOf, AnyOf, Not, Trigger

__all__ = ["MAX_NESTING", "parse_condition"]

_TOKEN = re.compile(
    r"\s*(?:(?P<value>\d+(?:\.\d+)?(?:%|[A-Za-z]+(?:\d+(?:\.\d+)?[A-Za-z]+)*)?)"
    r"|(?P<op>>=|<=|==|>|<)"
    r"|(?P<paren>[()])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidValueError(
                f"unexpected character {text[position:].lstrip()[:1]!r} at position "
                f"{len(text[:position]) + len(text[position:]) - len(text[position:].lstrip())} "
                f"in {describe(text)}"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


#: How deeply ``not`` and parentheses may nest in a condition.
MAX_NESTING = 100


class _Parser:
    def __init__(self, text: str, registry: Registry, bindings: Mapping[str, Any]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.registry = registry
        self.bindings = bindings

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise InvalidValueError(f"the condition {describe(self.text)} ends too early")
        self.index += 1
        return token

    def error(self, token: tuple[str, str, int] | None, expected: str) -> InvalidValueError:
        if token is None:
            return InvalidValueError(f"expected {expected} at the end of {describe(self.text)}")
        return InvalidValueError(
            f"expected {expected} at position {token[2]} of {describe(self.text)} (got "
            f"{describe(token[1])})"
        )

    def parse(self) -> Trigger:
        if not self.tokens:
            raise InvalidValueError("the condition is empty")
        trigger = self.parse_or()
        token = self.peek()
        if token is not None:
            raise self.error(token, "'and', 'or' or the end of the condition")
        return trigger

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def parse_or(self) -> Trigger:
        parts = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else AnyOf(*parts)

    def parse_and(self) -> Trigger:
        parts = [self.parse_not()]
        while self.is_word("and"):
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else AllOf(*parts)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            token = self.peek()
            where = "the end" if token is None else f"position {token[2]}"
            raise InvalidValueError(
                f"the condition nests 'not' and parentheses more than {MAX_NESTING} deep "
                f"(at {where} of {describe(self.text)}); write it more simply"
            )

    def parse_not(self) -> Trigger:
        if self.is_word("not"):
            self.take()
            self.nest()
            inner = self.parse_not()
            self.depth -= 1
            return Not(inner)
        return self.parse_atom()

    def comparison(self, name: str) -> tuple[str | None, str | None]:
        """The optional ``OP VALUE`` after a name: ``(op, value)`` or ``(None, None)``."""
        following = self.peek()
        if following is None or following[0] != "op":
            return None, None
        op = self.take()[1]
        operand = self.peek()
        if (
            operand is None
            or operand[0] not in ("value", "word")
            or (operand[0] == "word" and operand[1].lower() in KEYWORDS)
        ):
            raise self.error(operand, f"a value after {describe(name)} {op!r}")
        value = self.take()[1].lower() if operand[0] == "word" else self.take()[1]
        return op, value

    def parse_atom(self) -> Trigger:
        token = self.peek()
        if token is None:
            raise self.error(None, "a condition")
        kind, text, _ = token
        if kind == "paren" and text == "(":
            self.take()
            self.nest()
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise self.error(closing, "')'")
            self.take()
            self.depth -= 1
            return inner
        if kind != "word" or text.lower() in KEYWORDS:
            raise self.error(token, "a trigger name")
        self.take()
        name = text.lower()
        measure = self.peek()
        if measure is not None and measure[0] == "word" and measure[1].lower() in MEASURES:
            self.take()
            op, value = self.comparison(f"{name} {measure[1].lower()}")
            return clock_condition(name, measure[1].lower(), op, value, self.bindings)
        factory = find_trigger(self.registry, name)
        if factory is None:
            known = ", ".join(sorted(self.registry.triggers))
            raise InvalidValueError(f"unknown trigger {describe(text)} (expected one of: {known})")
        op, value = self.comparison(name)
        try:
            trigger = factory(op, value, self.bindings)
        except PromiseKitError:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"{describe(name)}: {exc}") from exc
        if not isinstance(trigger, Trigger):
            raise InvalidValueError(
                f"the factory of trigger {describe(name)} returned "
                f"{type(trigger).__name__}, not a Trigger"
            )
        return trigger


def parse_condition(
    text: str,
    *,
    bindings: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> Trigger:
    """Parse a condition such as ``"elapsed >= 50% and not revised >= 2"`` into a trigger.

    Raises:
        InvalidValueError: A syntax error, an unknown name or a bad value (the message
            says which and where).

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidValueError(
            f"a condition must be a string (got {type(text).__name__} {describe(text)})"
        )
    return _Parser(text, registry or DEFAULT_REGISTRY, bindings or {}).parse()
