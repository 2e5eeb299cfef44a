"""Headless Chromium for the HTML pages' tests (run reports, the tour): Debian's ``chromium``, driven by
Playwright without any browser download (``bash scripts/setup.sh --test`` installs it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_available() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (bash scripts/setup.sh --test installs Debian's chromium)"
    return None


def browser_required() -> bool:
    """CI (``.ci/run`` sets AEKIT_REQUIRE_BROWSER=1; most CI services set CI) must run the browser test."""
    return any(os.environ.get(name, "").strip() not in ("", "0", "false") for name in ("AEKIT_REQUIRE_BROWSER", "CI"))



def launch(tmp_path_factory):
    """A browser context (a generator for a fixture): skipped where there is no browser, unless required."""
    reason = _browser_available()
    if reason is not None:
        if browser_required():
            pytest.fail(f"The browser test must run here (AEKIT_REQUIRE_BROWSER or CI is set): {reason}.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def load(browser, path: Path) -> tuple:
    """Open ``path`` as a file:// page; return the page and what went wrong while loading it."""
    page = browser.new_page()
    problems = {"console": [], "page": [], "requests": []}
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["page"].append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems["requests"].append(r.url))
    page.on("requestfailed", lambda r: problems["requests"].append(f"failed: {r.url}"))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, problems


def image_widths(page) -> list[int]:
    return page.evaluate("Array.from(document.images).map(img => img.complete ? img.naturalWidth : 0)")
