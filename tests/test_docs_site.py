"""The documentation site: every page in the nav, built strictly, opened in headless Chromium.

The build needs the ``docs`` extra (mkdocs-material, mkdocstrings; the ``test`` extra pulls
it in) and the browser needs ``chromium`` (CI installs it with ``bash .ci/browser-deps``).
Without them these tests skip on a developer's machine and fail under CI (``$CI`` set), as
tests/test_report_browser.py does. If ``CI_ARTIFACTS`` names a directory, the screenshots
are copied there.

The checks on the nav and the home page read the files only, and always run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"
WINDOW = (1280, 1600)
TIMEOUT = 120
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECTIONS = ["Tutorial", "How-to guides", "Reference", "Explanation"]


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _pages() -> list[str]:
    """Every Markdown page under docs/, relative to it."""
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def _nav_pages() -> list[str]:
    """The pages the nav of mkdocs.yml names (read as text: the file needs no YAML parser)."""
    text = MKDOCS_YML.read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    return re.findall(r"^\s*- (?:.*:\s+)?([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)


# ----------------------------------------------------------------- the files themselves


def test_every_page_is_in_the_nav() -> None:
    nav = _nav_pages()
    assert sorted(set(nav)) == sorted(nav), "a page appears twice in the nav"
    missing = sorted(set(_pages()) - set(nav))
    assert not missing, f"pages missing from the nav of mkdocs.yml: {missing}"
    absent = sorted(set(nav) - set(_pages()))
    assert not absent, f"the nav names pages that do not exist: {absent}"


def test_nav_is_tutorial_howto_reference_explanation() -> None:
    text = MKDOCS_YML.read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    found = re.findall(r"^  - ([\w -]+):\s*$", nav, flags=re.MULTILINE)
    assert found == SECTIONS


def test_home_page_lists_every_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", index))
    pages = {p for p in _pages() if not p.startswith("reference/") and p != "index.md"}
    missing = sorted(pages - linked)
    assert not missing, f"docs/index.md does not link to {missing}"
    assert "reference/index.md" in linked, "docs/index.md does not link to the API reference"


def test_reference_covers_every_public_module() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: ([\w.]+)\s*$", text, flags=re.MULTILINE))
    src = ROOT / "src" / "promisekit"
    public = {"promisekit"}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        if any(part.startswith("_") for part in parts[:-1]) or (
            parts[-1].startswith("_") and parts[-1] != "__init__"
        ):
            continue
        name = ".".join(("promisekit", *parts))
        name = name.removesuffix(".__init__")
        # Submodules of a public package that re-exports them are documented through it.
        if name.startswith("promisekit.testing."):
            continue
        public.add(name)
    missing = sorted(public - documented)
    assert not missing, f"public modules without a ::: directive in docs/reference/: {missing}"


# ----------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            _missing(f"{module} is not installed: pip install '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["NO_MKDOCS_2_WARNING"] = "1"
    built = subprocess.run(
        [
            *(sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"),
            *("--config-file", str(MKDOCS_YML), "--site-dir", str(out)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stderr[-4000:]}"
    warnings = [line for line in built.stderr.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    return out


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if exe is None:
        _missing("the `chromium` executable is not on PATH: `bash .ci/browser-deps` installs it")
    assert exe is not None
    return exe


def _dump_dom(chromium: str, page: Path) -> str:
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _screenshot(chromium: str, page: Path, png: Path) -> tuple[int, int]:
    done = subprocess.run(
        [
            *(chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=5000"),
            *(f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={png}", page.as_uri()),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=png.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    artifacts = os.environ.get("CI_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(artifacts) / png.name)
    return width, height


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_page_is_built(site: Path) -> None:
    for page in _pages():
        assert (site / page).with_suffix(".html").exists(), page


def test_site_needs_no_network(site: Path) -> None:
    """No web fonts, no external scripts or styles: the site works offline, from disk."""
    external = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""")
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not external.search(text), f"{html.relative_to(site)} loads something remote"
        assert "fonts.googleapis" not in text, html.relative_to(site)


def test_home_page_in_chromium(site: Path, chromium: str) -> None:
    dom = _dump_dom(chromium, site / "index.html")
    text = _text(dom)
    assert "promisekit documentation" in text
    for section in SECTIONS:
        assert section in text, section
    width, height = _screenshot(chromium, site / "index.html", site / "docs-home.png")
    assert (width, height) == WINDOW


def test_api_reference_in_chromium(site: Path, chromium: str) -> None:
    page = site / "reference" / "calendar.html"
    dom = _dump_dom(chromium, page)
    # The method's heading, its signature and its docstring, generated from the source.
    assert 'id="promisekit.calendar.BusinessCalendar.add"' in dom
    heading = re.search(
        r'<h3 id="promisekit\.calendar\.BusinessCalendar\.add"[^>]*>(.*?)</h3>', dom, re.DOTALL
    )
    assert heading is not None
    assert "add" in _text(heading.group(1))
    text = _text(dom)
    assert "BusinessCalendar" in text
    assert "The earliest instant at which" in text  # add's summary line
    assert "Parameters:" in text
    assert "Raises:" in text
    # reST roles were turned into code, not left as text.
    assert ":class:`" not in dom
    assert ":func:`" not in dom
    width, height = _screenshot(chromium, page, site / "docs-reference-calendar.png")
    assert (width, height) == WINDOW


# ----------------------------------------------------------------- the griffe extension


@pytest.fixture(scope="module")
def griffe_ext() -> object:
    if importlib.util.find_spec("griffe") is None:
        _missing("griffe is not installed: pip install '.[docs]'")
    path = DOCS / "reference" / "_griffe_ext.py"
    spec = importlib.util.spec_from_file_location("_promisekit_griffe_ext", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_become_code(griffe_ext: object) -> None:
    convert = griffe_ext.rst_to_markdown  # type: ignore[attr-defined]
    text = "See :class:`~promisekit.promise.Promise`, :func:`assess` and :meth:`x <a.b>`."
    assert convert(text) == "See `Promise`, `assess` and `x`."


def test_directives_and_literal_blocks_become_fences(griffe_ext: object) -> None:
    convert = griffe_ext.rst_to_markdown  # type: ignore[attr-defined]
    text = "\n".join(
        [
            "Summary.",
            "",
            "Example:",
            "    .. code-block:: python",
            "",
            "        x = 1",
            "",
            "The formula::",
            "",
            "    y = 2 * x",
            "",
            ">>> 1 + 1",
            "2",
            "",
            ".. versionadded:: 0.1.0",
            ".. deprecated:: 0.2.0",
            "   Use something else.",
        ]
    )
    assert convert(text).splitlines() == [
        "Summary.",
        "",
        "Example:",
        "    ```python",
        "    x = 1",
        "    ```",
        "",
        "The formula:",
        "",
        "```text",
        "y = 2 * x",
        "```",
        "",
        "```pycon",
        ">>> 1 + 1",
        "2",
        "```",
        "",
        "*Added in version 0.1.0.*{: .pk-version }",
        "*Deprecated since version 0.2.0:* Use something else.",
    ]
