"""report.html in a real browser (headless Chromium): the plot renders, untrusted text stays text."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("BENCH_REQUIRE_BROWSER"):
    raise RuntimeError("BENCH_REQUIRE_BROWSER is set but chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install -y chromium)")

PAYLOAD = "<script>document.title='pwned'</script>"


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


def test_report_renders_plots_and_escapes_model_text(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = bench(
        "run",
        "--provider",
        "scripted",
        "--model",
        "calculator@2B",
        "--model",
        f"constant:{PAYLOAD}@300M",
        "--limit",
        "4",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    page = (out / "report.html").as_uri()

    # With console logging on, a script error on the page would show as "Uncaught ..." on stderr.
    dom = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr
    assert "Uncaught" not in dom.stderr and "CONSOLE" not in dom.stderr
    assert "<title>bench report</title>" in dom.stdout  # the payload did not run
    assert "pwned" in dom.stdout and "<script" not in dom.stdout  # shown as text, not as an element
    assert (
        dom.stdout.count("<svg") == 14  # accuracy per task (3), each continuous measure (7: digit
        # accuracy and edit distance of the two numeric tasks, the target's log-prob of arithmetic and of
        # the trap's log-prob rows, the trap's Brier score), the gain of each chain-of-thought condition
        # (3), one reliability diagram
        and dom.stdout.count('class="point"')
        == 42  # 2 models × (1 + 3 + 3) accuracy curves, 2 × (1 + 3) × 2 digit accuracy and edit
        # distance, 2 × (1 + 1 + 1) log-probs and Brier score, 2 × (2 + 1) gains
    )  # the trap's plain condition is two curves: scored by log-prob and by generated answer

    # The scripted model's answer is the payload itself: in the sample browser it is text.
    assert dom.stdout.count('<tr class="s ') == 2 * 7 * 4
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom.stdout

    shot = tmp_path / "report.png"
    taken = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1600", page)
    assert taken.returncode == 0, taken.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
