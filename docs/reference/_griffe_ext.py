"""Griffe extensions for promisekit's API reference (loaded by mkdocs.yml).

``AttrsInit``: promisekit's value classes are ``attrs`` classes, whose ``__init__`` is
generated at run time, so static analysis sees no constructor: their signature and their
``Args:`` sections would be lost. The extension imports each such class and gives it the
``__init__`` attrs generated (names, kinds, defaults), with the annotations written in the
class body.

``RstToMarkdown``: promisekit's docstrings are Google style, with a few reStructuredText
habits that read well in ``help()`` and in an editor: roles (``:class:`Promise```),
``.. code-block::``, ``.. versionadded::`` / ``versionchanged`` / ``deprecated``, ``::``
literal blocks, and doctests in ``Example:`` sections. mkdocstrings renders docstrings as
Markdown, so this extension rewrites those bits before the docstrings are parsed (the
source files are not touched):

- a role becomes inline code (``:class:`~promisekit.promise.Promise``` → ``Promise``),
  linked to the page that documents what it names (an optional cross-reference: plain
  code, and no warning, when the reference does not document it);
- a code block, a literal block or a doctest becomes a fenced block;
- a version directive becomes one italic line ("*Added in version 0.1.0.*", styled
  small by docs/stylesheets/extra.css when it says nothing more).

mkdocs.yml loads them with ``extensions: [docs/reference/_griffe_ext.py]``.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|type):`(~?)([^`]+)`")
DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?P<name>code-block|code|versionadded|versionchanged|deprecated)"
    r"::\s*(?P<arg>.*)$"
)
VERSION_WORDS = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
}


def _role_text(short: str, target: str) -> tuple[str, str]:
    """The text shown and the target named by a role's content."""
    explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", target)
    if explicit:
        return explicit.group(1) or explicit.group(2), explicit.group(2)
    if short:
        return target.rsplit(".", 1)[-1], target
    return target, target


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """The full path of what ``target`` names, seen from ``obj`` (``None`` if unknown)."""
    target = target.strip().removesuffix("()")
    if target.startswith("promisekit."):
        return target
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = (
        obj if isinstance(obj, (griffe.Module, griffe.Class)) else obj.parent
    )
    while scope is not None:
        member = scope.members.get(head)
        if member is not None:
            try:
                path = member.final_target.path if member.is_alias else member.path
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                path = member.path
            return f"{path}.{rest}" if rest else path
        scope = scope.parent
    return None


def _roles(text: str, obj: griffe.Object | None) -> str:
    """Each role as inline code, linked (when the reference knows it) to what it names."""

    def replace(match: re.Match[str]) -> str:
        shown, target = _role_text(match.group(1), match.group(2).strip())
        code = f"<code>{html.escape(shown)}</code>"
        path = _resolve(obj, target) if obj is not None else None
        if path is None:
            return f"`{shown}`"
        # An optional cross-reference: a link when the reference documents the target,
        # plain code (and no warning) when it does not.
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return ROLE.sub(replace, text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The lines after ``start`` indented deeper than ``indent`` (blank lines included)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end], end


def _dedent(body: list[str]) -> list[str]:
    depth = min((_indent(line) for line in body if line.strip()), default=0)
    return [line[depth:] if line.strip() else "" for line in body]


def rst_to_markdown(text: str, obj: griffe.Object | None = None) -> str:
    """The docstring ``text`` with its reST roles, directives and literal blocks as Markdown.

    Roles are resolved from ``obj``, the object the docstring belongs to.
    """
    text = _roles(text, obj)
    lines = text.splitlines()
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.lstrip().startswith(">>>"):
            # A doctest: its prompts and outputs, up to the next blank line, as one block.
            pad = " " * _indent(line)
            end = i
            while end < len(lines) and lines[end].strip() and _indent(lines[end]) >= len(pad):
                end += 1
            out.append(f"{pad}```pycon")
            out.extend(lines[i:end])
            out.append(f"{pad}```")
            i = end
            continue
        directive = DIRECTIVE.match(line)
        literal = (
            line.rstrip().endswith("::")
            and not line.lstrip().startswith("..")
            and i + 1 < len(lines)
            and not lines[i + 1].strip()
        )
        if directive:
            pad = directive.group("indent")
            name, arg = directive.group("name"), directive.group("arg").strip()
            body, i = _body(lines, i + 1, len(pad))
            content = _dedent(body)
            while content and not content[0]:
                content.pop(0)
            if name in ("code-block", "code"):
                out.append(f"{pad}```{arg or 'python'}")
                out.extend(f"{pad}{row}" if row else "" for row in content)
                out.append(f"{pad}```")
            else:
                words = VERSION_WORDS[name]
                if content:
                    out.append(f"{pad}*{words} {arg}:* {content[0].strip()}")
                    out.extend(f"{pad}{row.strip()}" for row in content[1:])
                else:
                    out.append(f"{pad}*{words} {arg}.*{{: .pk-version }}")
            continue
        if literal:
            pad = " " * _indent(line)
            stripped = line.rstrip()
            head = stripped[:-2].rstrip()
            out.append(head + ":" if head.strip() and not stripped.endswith(" ::") else head)
            body, end = _body(lines, i + 1, _indent(line))
            content = _dedent(body)
            while content and not content[0]:
                content.pop(0)
            if content:
                out.extend(["", f"{pad}```text"])
                out.extend(f"{pad}{row}" if row else "" for row in content)
                out.append(f"{pad}```")
                i = end
                continue
            i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _convert(obj: griffe.Object, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.docstring is not None:
        obj.docstring.value = rst_to_markdown(obj.docstring.value, obj)
    for member in list(obj.members.values()):
        if not member.is_alias:
            _convert(member, seen)  # type: ignore[arg-type]


class RstToMarkdown(griffe.Extension):
    """Rewrite the docstrings' reST habits as Markdown once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Convert every docstring of the package in place (before any is parsed)."""
        _convert(pkg, set())


def _default(value: object) -> str | None:
    """How a runtime default reads in a signature (``None`` when there is none)."""
    if value is inspect.Parameter.empty:
        return None
    text = repr(value)
    if text == "NOTHING" or type(value).__name__ == "_Nothing" or len(text) > 60:
        return "..."
    return text


def _runtime_class(cls: griffe.Class) -> object | None:
    try:
        module = importlib.import_module(cls.module.path)
    except Exception:  # an optional dependency is missing: leave the class as it is
        return None
    obj: object = module
    for part in cls.path[len(cls.module.path) + 1 :].split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _attrs_init(cls: griffe.Class) -> None:
    import attrs

    runtime = _runtime_class(cls)
    if not (isinstance(runtime, type) and attrs.has(runtime)):
        return
    try:
        signature = inspect.signature(runtime.__init__)
    except (TypeError, ValueError):
        return
    names = {field.alias: field.name for field in attrs.fields(runtime)}
    written = getattr(runtime.__init__, "__annotations__", {})
    parameters = []
    for param in signature.parameters.values():
        member = cls.all_members.get(names.get(param.name, param.name))
        annotation = getattr(member, "annotation", None) if param.name != "self" else None
        # A converter widens what __init__ accepts: then its annotation, as attrs wrote it
        # (often ``Any``: the Args section says what is accepted).
        accepted = written.get(param.name)
        if accepted is not None and not isinstance(accepted, str):
            accepted = getattr(accepted, "__name__", None) or str(accepted)
        if accepted is not None and accepted != str(annotation):
            annotation = accepted
        parameters.append(
            griffe.Parameter(
                param.name,
                annotation=annotation,
                kind=KINDS[param.kind],
                default=_default(param.default),
            )
        )
    init = griffe.Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=griffe.Parameters(*parameters),
        returns="None",
    )
    cls.set_member("__init__", init)


def _walk(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, griffe.Class) and "__init__" not in obj.members:
        _attrs_init(obj)
    for member in list(obj.members.values()):
        if not member.is_alias and (member.is_module or member.is_class):
            _walk(member, seen)  # type: ignore[arg-type]


class AttrsInit(griffe.Extension):
    """Give each ``attrs`` class the ``__init__`` attrs generates for it."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the loaded package once."""
        _walk(pkg, set())
