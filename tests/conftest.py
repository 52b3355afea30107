"""Shared fixtures: a PostgreSQL server for the PostgreSQL ledger's tests.

``postgres_url`` is ``$PROMISEKIT_TEST_POSTGRES`` when set (CI starts a throwaway
cluster with ``.ci/postgres`` and sets it); otherwise the fixture starts its own
cluster with the same script when ``initdb`` can be found, and stops it at the end of
the session. With neither, the tests that need a server fail under CI (``$CI`` set: a
missing server is a failure) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "postgres"


def _no_server(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"no PostgreSQL server for the tests under CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {reason} (set PROMISEKIT_TEST_POSTGRES)")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL database the tests may create schemas in."""
    url = os.environ.get("PROMISEKIT_TEST_POSTGRES", "").strip()
    if url:
        yield url
        return
    if not SCRIPT.exists():
        _no_server(f"PROMISEKIT_TEST_POSTGRES is not set and {SCRIPT} is missing")
    started = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, check=False
    )
    if started.returncode != 0 or not started.stdout.strip():
        _no_server(
            "PROMISEKIT_TEST_POSTGRES is not set and .ci/postgres could not start a "
            f"cluster: {started.stderr.strip()[-500:]}"
        )
    url = started.stdout.strip().splitlines()[-1]
    folder = url.split("host=", 1)[1].split("&", 1)[0]
    try:
        yield url
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True, check=False)


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema name, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
