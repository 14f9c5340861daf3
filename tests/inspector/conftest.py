"""A real headless browser (Debian's chromium, driven by Playwright) on the inspector page.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs it
with apt-get). Without it, or without the ``playwright`` package, these tests are skipped and
say why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PBX_SIM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def shots():
    """``shots(page, name)``: a screenshot under tests/artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    async def take(page, name: str) -> Path:
        path = ARTIFACTS / f"inspector-{name}.png"
        await page.screenshot(path=str(path), full_page=False)
        return path
    return take
