"""Ledger events to and from JSON at the speed of :mod:`json`: the stores' fast path.

Private to the stores (:mod:`promisekit.store`). Two functions:

* :func:`event_text` is :func:`promisekit.serialize.to_json` of an event, exactly (the
  same text, the same errors), without the converter's dispatch: one generated
  function per event class builds the document, and datetimes are written with
  ``isoformat()`` when their zone is a keyed ``ZoneInfo`` or an unnamed
  ``datetime.timezone`` (anything else goes through
  :func:`~promisekit.serialize.format_datetime`, which writes or refuses it).
* :func:`trusted_event` reads back a document **that this promisekit wrote itself from a
  valid event** and that nobody changed since (the store checks that with a checksum
  before calling it). It does not validate again: the event is built with
  ``object.__new__`` and ``object.__setattr__`` (no attrs validators, no
  ``__attrs_post_init__`` checks), and datetimes are read with
  :meth:`datetime.fromisoformat`, which reads exactly what ``isoformat()`` writes.
  Fields that are rare and not plain (terms, metadata, a fired escalation's document,
  a cost) go through the converter's own hooks and the attrs converters, so their
  values are the same objects the checked path makes. A document not in the exact
  form written (another schema string, an unknown type or field) gives ``None``, and
  the caller reads it with :func:`~promisekit.serialize.from_json`, which validates
  everything. **Never call it on a document from elsewhere** (a file, a request, a
  row someone else wrote): :func:`~promisekit.serialize.from_json` is the reader for
  those.

The tests compare both with the checked functions over generated events (same text;
equal events whose every field has the same value and type).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from promisekit._ledger_events import EVENT_TYPES, Event, PromiseMade
from promisekit._ledger_replay import slot_setter
from promisekit._serialize_codecs import _zone_named, format_datetime
from promisekit._serialize_registry import _BY_CLASS, SCHEMA, SchemaError, _Spec, get_converter
from promisekit._validation import describe
from promisekit.promise import Promise

__all__ = ["event_text", "trusted_event"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _document_encoder() -> Callable[[dict[str, Any]], str]:
    """``_ENCODER.encode`` of a document (a dict), without building the C encoder again
    on every call as ``JSONEncoder.encode`` does: the same text, a third faster.

    No check for circular references: a valid event's document is a tree (its
    validators refuse anything else). Where the C encoder is missing, ``encode``."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return _ENCODER.encode
    encode = make(
        None,  # markers: no circular-reference check
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )
    join = "".join

    def encode_document(document: dict[str, Any]) -> str:
        return join(encode(document, 0))

    return encode_document


_encode = _document_encoder()
# The decoder's scanner, without decode()'s checks: the document is known to be well formed.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_new = object.__new__
_fromisoformat = datetime.fromisoformat

# Zones by the end of the text that names them ("America/Toronto]").
_SUFFIXES: dict[str, tzinfo] = {}
# Unnamed datetime.timezone objects already written once (by id, holding the object).
_PLAIN_ZONES: dict[int, timezone] = {}


class _NotOurs(Exception):
    """A document is not in the exact form the fast reader expects."""


# --------------------------------------------------------------------------- datetimes


def write_datetime(value: datetime) -> str:
    """:func:`~promisekit.serialize.format_datetime` of an event's (valid) datetime."""
    zone = value.tzinfo
    if type(zone) is ZoneInfo:
        key = zone.key
        if key is not None:
            return f"{value.isoformat()}[{key}]"
    elif type(zone) is timezone and _PLAIN_ZONES.get(id(zone)) is zone:
        return value.isoformat()
    text = format_datetime(value)  # writes it, or raises what to_json raises
    if type(zone) is timezone and len(_PLAIN_ZONES) < 1024:
        _PLAIN_ZONES[id(zone)] = zone  # format_datetime accepted it: it has no custom name
    return text


def _same_wall_time(local: datetime, value: datetime) -> bool:
    """Whether two datetimes of the same instant show the same wall time.

    Their offsets differ by less than two days, so the same day of the month, hour,
    minute and second means the same wall time (checking the day too matters: some
    zones skipped a whole day, as Pacific/Apia did on 2011-12-30)."""
    return (
        local.second == value.second
        and local.minute == value.minute
        and local.hour == value.hour
        and local.day == value.day
    )


def read_datetime(text: str) -> datetime:
    """A datetime as :func:`write_datetime` wrote it (``isoformat()``, maybe ``[zone]``)."""
    clock, bracket, suffix = text.partition("[")
    if not bracket:
        return _fromisoformat(text)
    value = _fromisoformat(clock)
    zone = _SUFFIXES.get(suffix)  # "America/Toronto]"
    if zone is None:
        if suffix[-1:] != "]":
            raise _NotOurs(text)
        zone = _zone_named("value", suffix[:-1])
        if len(_SUFFIXES) < 1024:
            _SUFFIXES[suffix] = zone
    if value.tzinfo is None:  # (astimezone would take a naive time as the machine's)
        raise _NotOurs(text)
    # The instant in its zone: the wall time written, with the fold that gives the
    # offset written...
    local = value.astimezone(zone)
    if _same_wall_time(local, value):
        return local
    # ...unless the wall time written is one a daylight-saving change skips (a valid
    # datetime, kept as is, as parse_datetime does).
    offset = value.utcoffset()
    for fold in (0, 1):
        local = value.replace(tzinfo=zone, fold=fold)
        if local.utcoffset() == offset:
            return local
    raise _NotOurs(text)


# --------------------------------------------------------------------------- plans


def _plain(tp: Any) -> Any:
    """``str``, ``int``, ``float`` or ``datetime`` for a field of that type (or of that
    type or ``None``); ``None`` for every other type."""
    for kind in (str, int, float, datetime):
        if tp is kind or tp == (kind | None):
            return kind
    return None


@attrs.frozen
class _Field:
    name: str
    plain: Any  # str, int, float, datetime, or None (through the converter's hooks)
    required: bool
    default: Any  # the value when the document leaves the field out (after the converter)
    converter: Callable[[Any], Any] | None


def _fields(cls: type[Event]) -> list[_Field]:
    attrs.resolve_types(cls)
    out = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        required = field.default is attrs.NOTHING
        converter = field.converter if callable(field.converter) else None
        default = None if required else field.default
        if converter is not None and not required:
            default = converter(default)
        out.append(_Field(field.name, _plain(field.type), required, default, converter))
    return out


def _fail(value: object) -> Any:
    raise _NotOurs(value)


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    exec(compile(source, f"<promisekit fast {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def _writer(cls: type[Event], spec: _Spec) -> Callable[[Event], str]:
    """Generate the function that writes ``cls`` as to_json does (cattrs' order: the
    required fields, then the others unless at their default)."""
    conv = get_converter()
    namespace: dict[str, Any] = {"_encode": _encode, "_dt": write_datetime, "SCHEMA": SCHEMA}
    fields = _fields(cls)
    literal = [f"'schema': SCHEMA, 'type': {spec.name!r}"]
    before = ["    p = ps = None"]  # the last datetime written, and its text
    optional = []
    # A datetime equal to the previous one in all that its text shows (same wall time,
    # zone object and fold) is written once (at and recorded_at are often the same).
    same = "(v is p or (v == p and v.tzinfo is p.tzinfo and v.fold == p.fold))"
    for index, field in enumerate(fields):
        if field.plain is datetime:
            write = f"(ps if {same} else _dt(v))"
        elif field.plain in (str, int):
            write = "v"
        else:
            tp = attrs.fields_dict(cls)[field.name].type
            namespace[f"_hook{index}"] = conv.get_unstructure_hook(tp)
            write = f"_hook{index}(v)"
        if field.required and field.plain is datetime:
            before.append(
                f"    v = o.{field.name}\n    t{index} = {write}\n    p, ps = v, t{index}"
            )
            literal.append(f"{field.name!r}: t{index}")
        elif field.required:
            before.append(f"    v = o.{field.name}\n    t{index} = {write}")
            literal.append(f"{field.name!r}: t{index}")
        else:
            namespace[f"_default{index}"] = field.default
            optional.append(
                f"    v = o.{field.name}\n"
                f"    if v != _default{index}:\n"
                f"        res[{field.name!r}] = {write}\n"
            )
    source = (
        "def write(o):\n"
        + "\n".join(before)
        + f"\n    res = {{{', '.join(literal)}}}\n"
        + "".join(optional)
        + "    return _encode(res)\n"
    )
    return _compile(source, "write", namespace)


def _immutable(value: Any) -> bool:
    """Whether every event may share ``value`` as its default (nobody can change it)."""
    if value is None or type(value) in (str, int, float, bool):
        return True
    return type(value) is MappingProxyType and not value  # (an empty read-only mapping)


def _reader(cls: type[Event]) -> Callable[[dict[str, Any]], Event]:
    """Generate the function that builds ``cls`` from a document it wrote, unchecked."""
    conv = get_converter()
    namespace: dict[str, Any] = {
        "_new": _new,
        "_dt": read_datetime,
        "_iso": _fromisoformat,
        "_zones": _SUFFIXES,
        "_NotOurs": _NotOurs,
        "_fail": _fail,
        "cls": cls,
    }
    fields = _fields(cls)
    required = sum(1 for field in fields if field.required)
    lines = ["def read(d):", "    o = _new(cls)", f"    n = {2 + required}", "    t = w = None"]
    defaults: list[str] = []  # the optional fields at their default
    optional: list[str] = []  # the optional fields read from the document
    for index, field in enumerate(fields):
        tp = attrs.fields_dict(cls)[field.name].type
        namespace[f"_s{index}"] = slot_setter(cls, field.name)
        if field.plain is datetime:
            # A datetime written twice in a document (at, recorded_at…) is read once.
            convert = "(w if v == t else _dt(v))"
        elif field.plain in (str, int):
            convert = "v"
        elif field.plain is float:
            convert = "v if type(v) is float else _fail(v)"
        else:
            namespace[f"_hook{index}"] = conv.get_structure_hook(tp)
            namespace[f"_type{index}"] = tp
            convert = f"_hook{index}(v, _type{index})"
            if field.converter is not None:
                namespace[f"_conv{index}"] = field.converter
                convert = f"_conv{index}({convert})"
        if field.required:
            lines.append(f"    v = d[{field.name!r}]")
            if field.plain is datetime:
                lines.extend(_read_datetime_lines())
                convert = "w"
            lines.append(f"    _s{index}(o, {convert})")
            continue
        namespace[f"_default{index}"] = field.default
        if field.converter is not None and not _immutable(field.default):
            # A fresh value from the converter, as the attrs default would give.
            namespace[f"_conv{index}"] = field.converter
            namespace[f"_raw_default{index}"] = attrs.fields_dict(cls)[field.name].default
            default = f"_conv{index}(_raw_default{index})"
        else:
            default = f"_default{index}"
        defaults.append(f"        _s{index}(o, {default})")
        optional.append(f"        v = d.get({field.name!r})")
        optional.append("        if v is None:")
        optional.append(f"            _s{index}(o, {default})")
        optional.append("        else:")
        optional.append(f"            _s{index}(o, {convert})")
        optional.append("            n += 1")
    if optional:
        # A document of the required fields only (the usual case) looks up no other.
        lines.append("    if len(d) == n:")
        lines.extend(defaults)
        lines.append("    else:")
        lines.extend(optional)
        lines.append("        if n != len(d):")
        lines.append("            raise _NotOurs(d)")
    else:
        lines.append("    if n != len(d):")
        lines.append("        raise _NotOurs(d)")
    if cls is PromiseMade:  # what its __attrs_post_init__ builds
        lines.extend(_made_promise_lines(namespace))
    lines.append("    return o")
    return _compile("\n".join(lines) + "\n", "read", namespace)


def _read_datetime_lines() -> list[str]:
    """Read the datetime text ``v`` into ``w`` (and remember it as ``t``): the same text
    as the previous one is the same datetime; a zone name is looked up as
    :func:`read_datetime` does (inline, the usual case, with the check of
    :func:`_same_wall_time`; anything else calls it)."""
    return [
        "    if v != t:",
        "        t = v",
        "        c, b, z = v.partition('[')",
        "        z = _zones.get(z)",
        "        if z is not None:",
        "            u = _iso(c)",
        "            w = u.astimezone(z)",
        "            if (",
        "                w.second != u.second or w.minute != u.minute or w.hour != u.hour",
        "                or w.day != u.day or u.tzinfo is None",
        "            ):",
        "                w = _dt(v)",
        "        elif b:",
        "            w = _dt(v)",
        "        else:",
        "            w = _iso(v)",
    ]


def _made_promise_lines(namespace: dict[str, Any]) -> list[str]:
    """Set the promise a PromiseMade builds in ``__attrs_post_init__`` (unchecked)."""
    namespace["Promise"] = Promise
    namespace["_promise"] = slot_setter(PromiseMade, "_promise")
    lines = ["    p = _new(Promise)"]
    for name, source in _PROMISE_FIELDS.items():
        namespace[f"_p_{name}"] = slot_setter(Promise, name)
        lines.append(f"    _p_{name}(p, {source})")
    lines.append("    _promise(o, p)")
    return lines


# Each field of the promise a PromiseMade makes, from the event's fields.
_PROMISE_FIELDS = {
    "id": "o.promise_id",
    "customer_id": "o.customer_id",
    "kind": "o.kind",
    "made_at": "o.at",
    "due": "o.due",
    "target": "o.target",
    "terms": "o.terms",
    "segment": "o.segment",
    "owner": "o.owner",
    "commitment": "o.commitment",
    "metadata": "o.metadata",  # read-only: shared, as an equal copy would be
    "revisions": "()",
    "supersedes": "o.supersedes",
}


# --------------------------------------------------------------------------- API

_WRITERS: dict[type[Any], tuple[_Spec, Callable[[Event], str]]] = {}
_READERS: dict[str, tuple[_Spec, type[Event], Callable[[dict[str, Any]], Event]]] = {}
_CLASSES = frozenset(EVENT_TYPES.values())


def _builtin_spec(cls: type[Any]) -> _Spec | None:
    """The registry's entry of an event class, if it is the built-in one (attrs hooks)."""
    get_converter()
    spec = _BY_CLASS.get(cls)
    if spec is None or spec.unstructure is not None or spec.base is not Event:
        return None
    return spec


def event_text(event: Event) -> str:
    """``to_json(event)``: the same text, the same errors, faster.

    Raises:
        InvalidTypeError: A datetime has a ``tzinfo`` that cannot be written exactly.
        SchemaError: A string is not valid Unicode (a lone surrogate).
    """
    cls = type(event)
    entry = _WRITERS.get(cls)
    if entry is None or _BY_CLASS.get(cls) is not entry[0]:
        spec = _builtin_spec(cls) if cls in _CLASSES else None
        if spec is None:
            from promisekit.serialize import to_json

            return to_json(event)
        entry = _WRITERS[cls] = (spec, _writer(cls, spec))
    text = entry[1](event)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SchemaError(
                f"cannot write a string that is not valid Unicode (a lone surrogate near "
                f"{describe(text[max(exc.start - 20, 0) : exc.end + 5])})"
            ) from None
    return text


#: What reading a document not in the exact form written raises (then it is not ours).
NOT_OURS = (_NotOurs, StopIteration, KeyError, TypeError, ValueError, AttributeError, IndexError)
#: ``scan(document, 0)``: the JSON value of a well-formed document and where it ends.
scan = _scan


def reader_of(event_type: str) -> Callable[[dict[str, Any]], Event] | None:
    """The function that builds an event of ``event_type`` from its document (as
    :func:`scan` reads it) without checking it again, or ``None`` for a type that has
    no fast reader (it raises one of :data:`NOT_OURS` for a document not in the exact
    form written). Only for documents this promisekit wrote: see the module
    documentation."""
    entry = _READERS.get(event_type)
    if entry is None or _BY_CLASS.get(entry[1]) is not entry[0]:
        cls = EVENT_TYPES.get(event_type)
        spec = None if cls is None else _builtin_spec(cls)
        if cls is None or spec is None:
            return None
        entry = _READERS[event_type] = (spec, cls, _reader(cls))
    return entry[2]


def trusted_event(document: str) -> Event | None:
    """The event of a document written by :func:`event_text` from a valid event and not
    changed since, built without checking it again; ``None`` when the document is not
    in that exact form (read it with :func:`~promisekit.serialize.from_json` then).

    Only for documents this promisekit wrote: see the module documentation.
    """
    try:
        data, end = _scan(document, 0)
        if end != len(document) or data["schema"] != SCHEMA:
            return None
        read = reader_of(data["type"])
        return None if read is None else read(data)
    except NOT_OURS:
        return None
