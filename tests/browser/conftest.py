"""Browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright; Playwright never downloads a browser.

They skip on a laptop without Chromium, never in CI (CI=true makes a missing browser a failure).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Each role's main screen, shown in the README ("Screens"): copied into docs/ only when DOCS_SCREENSHOTS=1, so that
# `make test` never changes the tree; `DOCS_SCREENSHOTS=1 pytest tests/browser` renews them.
DOCS_SHOTS = {
    "role-owner-staff-ru-desktop",
    "role-marketer-campaign-ru-desktop",
    "role-accountant-settlements-en-tablet",
    "role-cashier-result-tablet-ru",
    "role-operator-partners-ru-desktop",
    "role-operator-settlements-en-phone",
    "role-operator-audit-ru-desktop",
    "customer-page-ru-390x844",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run must install Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 390x844 phone-sized page."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if name in DOCS_SHOTS and os.environ.get("DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)
    return path
