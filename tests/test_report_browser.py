"""The demo HTML report, opened in headless Chromium: are the plots there and drawn?

Needs the ``chromium`` executable; CI installs it with ``bash .ci/browser-deps``.
Without it these tests fail (they do not skip), so a CI image without a browser is
noticed. If ``CI_ARTIFACTS`` names a directory, the screenshot is copied there; if
``PROMISEKIT_SCREENSHOTS`` names one, screenshots of the reports of small samples
(the demo, a parcels sample in days with scores and a flagged segment, the same in a
narrow window) are written there, to be looked at::

    PROMISEKIT_SCREENSHOTS=screenshots python -m pytest -q tests/test_report_browser.py
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from promisekit.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

# The demo history has no satisfaction scores, so its report has three plots.
EXPECTED_PLOTS = ["Lateness distribution", "Keep rate over time", "Keep rate by segment"]
DATA_PNG = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW = (1280, 2000)
TIMEOUT = 60
ATTEMPTS = 3

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

# Appended before </body>: once the page has loaded, write each image's decoded
# size into the DOM, where --dump-dom can read it.
WIDTHS_SCRIPT = """<pre id="widths"></pre>
<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("img").forEach(function (img) {
    out.push(img.naturalWidth + "x" + img.naturalHeight);
  });
  document.getElementById("widths").textContent = "sizes:" + out.join(",");
});
</script>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        message = (
            "the `chromium` executable is not on PATH; install it with `bash .ci/browser-deps`"
        )
        if not os.environ.get("CI"):
            # Outside CI (a developer's machine without a browser) the check cannot run;
            # CI runs .ci/browser-deps first and sets CI=true, so there it fails instead.
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    return exe


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo.html"
    assert main(["demo", "--html", str(path)]) == 0
    return path


def run_chromium(exe: str, *args: str) -> str:
    """Run headless Chromium with a new empty profile; return its stdout.

    Headless Chromium now and then hangs at start-up on a loaded machine (it never
    loads the page); such a run is killed with its whole process group and tried
    again, up to ``ATTEMPTS`` times. A page that fails to render fails every time.
    """
    hung: list[str] = []
    for _ in range(ATTEMPTS):
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            process = subprocess.Popen(
                [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                stdout, stderr = process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                _, stderr = process.communicate()
                hung.append(stderr[-500:])
                continue
        assert process.returncode == 0, f"chromium exited {process.returncode}:\n{stderr[-3000:]}"
        return stdout
    pytest.fail(
        f"chromium did not finish within {TIMEOUT} s in {ATTEMPTS} attempts: {args}\n"
        + "\n---\n".join(hung)
    )


class _Images(HTMLParser):
    """Collect the attributes of every <img> and the text of <pre id=widths>."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.widths = ""
        self._in_widths = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "pre" and ("id", "widths") in attrs:
            self._in_widths = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_widths = False

    def handle_data(self, data: str) -> None:
        if self._in_widths:
            self.widths += data


def parse(dom: str) -> _Images:
    parser = _Images()
    parser.feed(dom)
    parser.close()
    return parser


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the first chunk after the signature)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR", "PNG without a leading IHDR chunk"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def embedded_png(image: dict[str, str | None]) -> bytes:
    src = image.get("src") or ""
    assert src.startswith(DATA_PNG), f"image {image.get('alt')!r} is not a base64 PNG"
    return base64.b64decode(src[len(DATA_PNG) :], validate=True)


def test_dom_has_every_plot_as_an_embedded_png(chromium: str, report: Path) -> None:
    dom = run_chromium(chromium, "--dump-dom", report.as_uri())
    images = parse(dom).images
    assert [image.get("alt") for image in images] == EXPECTED_PLOTS
    for image in images:
        width, height = png_size(embedded_png(image))
        assert width > 100 and height > 100, (image.get("alt"), width, height)


def test_browser_decodes_every_plot(chromium: str, report: Path, tmp_path: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert page.count("</body>") == 1
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", WIDTHS_SCRIPT + "</body>"), encoding="utf-8")
    dom = run_chromium(
        chromium,
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probe.as_uri(),
    )
    parsed = parse(dom)
    match = re.fullmatch(r"sizes:([0-9x,]*)", parsed.widths.strip())
    assert match, f"the probe script did not run: {parsed.widths!r}"
    decoded = [tuple(int(n) for n in size.split("x")) for size in match[1].split(",") if size]
    # The browser's decoded size of each image is the size in its PNG header.
    expected = [png_size(embedded_png(image)) for image in parsed.images]
    assert len(expected) == len(EXPECTED_PLOTS)
    assert decoded == expected
    assert all(width > 0 for width, _ in decoded)


def test_screenshot(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(
        chromium,
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=5000",
        report.as_uri(),
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert len(data) > 20_000, f"screenshot is only {len(data)} bytes: blank page?"
    assert png_size(data) == WINDOW
    artifacts = os.environ.get("CI_ARTIFACTS")
    if artifacts:
        target = Path(artifacts)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / "report-screenshot.png")


# ----------------------------------------------------------------------------- screenshots
# Reports of small samples, screenshotted as a reader would see them. With
# PROMISEKIT_SCREENSHOTS=DIR the PNGs are kept in DIR (CI keeps them as artifacts; a
# person looks at them); without it they go to a temporary directory.

SAMPLES = {
    # name: (window size, how the report is made)
    "demo-callbacks": ((1280, 3000), "demo"),
    "parcels-days-scores": ((1280, 4400), "parcels"),
    "parcels-narrow-window": ((760, 1400), "parcels"),
    "callbacks-by-owner-scores": ((1280, 4400), "owners"),
}


def _sample_page(kind: str, path: Path) -> None:
    if kind == "demo":
        assert main(["demo", "--html", str(path)]) == 0
        return
    import matplotlib

    matplotlib.use("Agg")
    from promisekit.analysis import PromiseBook, html_report
    from promisekit.datasets import callback_centre_history, montreal_calendar, parcels_history

    if kind == "owners":  # twelve owners, business time, scores
        rows = callback_centre_history(600, seed=3, as_frame=False)
        book = PromiseBook.from_frame(rows, calendar=montreal_calendar())
        page = html_report(
            book, title="Callbacks by owner", fairness_by="owner", n_permutations=199
        )
    else:
        book = PromiseBook.from_frame(parcels_history(400, seed=1, slow_tier=True, days=120))
        page = html_report(book, title="Parcels: a four-month sample", n_permutations=199)
    path.write_text(page, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_screenshots(chromium: str, name: str, tmp_path: Path) -> None:
    (width, height), kind = SAMPLES[name]
    page = tmp_path / f"{name}.html"
    _sample_page(kind, page)
    folder = Path(os.environ.get("PROMISEKIT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"report-{name}.png"
    run_chromium(
        chromium,
        f"--screenshot={shot}",
        f"--window-size={width},{height}",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=5000",
        page.as_uri(),
    )
    data = shot.read_bytes()
    assert png_size(data) == (width, height)
    assert len(data) > 20_000, f"screenshot is only {len(data)} bytes: blank page?"
