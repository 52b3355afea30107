"""One strict JSON decoder for every document promisekit reads.

:func:`decode` is :func:`json.loads` with three refusals the standard decoder does not
make: a key repeated in one object (the standard decoder keeps the last value and
drops the others silently), the ``NaN`` / ``Infinity`` literals, and nesting too deep
for the decoder (a :class:`RecursionError` inside :mod:`json`). Each is an
:class:`~promisekit.errors.InvalidValueError`; callers turn it into their own error
(a :class:`~promisekit.serialize.SchemaError`, a :class:`~promisekit.io.RowError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from promisekit._validation import describe
from promisekit.errors import InvalidValueError

__all__ = ["DuplicateKeyError", "JSONSyntaxError", "decode"]


class DuplicateKeyError(InvalidValueError):
    """A JSON object repeats a key; ``key`` is the repeated key."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"duplicate key {describe(key)} in a JSON object (a key must appear once; "
            f"nothing is dropped silently)"
        )


class JSONSyntaxError(InvalidValueError):
    """The text is not JSON (``reason`` without the position; ``lineno`` and ``colno``)."""

    def __init__(
        self,
        reason: str,
        lineno: int | None = None,
        colno: int | None = None,
        *,
        bare: bool = False,
    ) -> None:
        self.reason = reason
        self.lineno = lineno
        self.colno = colno
        where = "" if lineno is None else f" at line {lineno} column {colno}"
        super().__init__(reason if bare else f"not valid JSON: {reason}{where}")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise JSONSyntaxError(f"{name} is not valid JSON (numbers must be finite)", bare=True)


_DECODERS: dict[Callable[[str], Any] | None, json.JSONDecoder] = {}


def decode(text: str, *, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Decode JSON ``text`` strictly (see the module documentation).

    Args:
        text: The JSON text.
        parse_float: How to read numbers with a fraction or exponent (``Decimal`` to
            keep them exact), or ``None`` for ``float``.

    Returns:
        The decoded value (objects are ``dict``).

    Raises:
        DuplicateKeyError: An object repeats a key.
        JSONSyntaxError: The text is not JSON, has ``NaN`` or ``Infinity``, or is
            nested too deeply to decode.
    """
    decoder = _DECODERS.get(parse_float)
    if decoder is None:
        decoder = json.JSONDecoder(
            object_pairs_hook=_object, parse_float=parse_float, parse_constant=_constant
        )
        _DECODERS[parse_float] = decoder
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(exc.msg, exc.lineno, exc.colno) from None
    except (DuplicateKeyError, JSONSyntaxError):
        raise
    except RecursionError:
        raise JSONSyntaxError("the document is nested too deeply") from None
    except ValueError as exc:  # int() of a number longer than sys.get_int_max_str_digits()
        raise JSONSyntaxError(f"a number has too many digits ({exc})") from None
