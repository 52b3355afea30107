"""Passwords out of messages: connection strings and a driver's words about them.

Private. Needs no database driver (the command line echoes what it was given, with or
without the ``postgres`` extra).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["redact"]

#: ``scheme://user:PASSWORD@`` (the password stops at the first ``@``, ``/``, ``?``, ``#``).
_URL_PASSWORD = re.compile(r"(://[^:/@?#\s\"']*:)[^@/?#\s\"']*@")
#: ``?password=...`` / ``&password=...`` in a URL's query.
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s\"']*", re.IGNORECASE)
#: ``password=...`` in a ``key=value`` connection string (quoted, or up to a space).
_KEY_PASSWORD = re.compile(
    r"((?<![?&\w])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.IGNORECASE
)


def _password(conninfo: str) -> str | None:
    """The password ``conninfo`` gives, or ``None`` (also when it cannot be parsed and
    none is found where a URL keeps it)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        found = conninfo_to_dict(conninfo).get("password")
    except Exception:  # no psycopg, or a malformed string: look where a URL keeps it
        match = re.search(r"://[^:/@?#\s]*:([^@/?#\s]*)@", conninfo)
        found = match.group(1) if match else None
    return str(found) if found else None


def redact(text: str, conninfo: str | None = None) -> str:
    """``text`` (a connection string, or a message about one) with any password replaced
    by ``***``: in a URL's user part and query, in ``password=`` pairs, and, given the
    ``conninfo`` the message is about, wherever a driver quotes that password (a
    malformed escape such as ``"s3cr%zzet"``). The rest of the text is kept."""
    secret = _password(conninfo if conninfo is not None else text)
    if secret is not None:
        for form in {secret, unquote(secret)}:
            for quote in ('"', "'"):
                text = text.replace(f"{quote}{form}{quote}", f"{quote}***{quote}")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    return _KEY_PASSWORD.sub(r"\1***", text).strip()
