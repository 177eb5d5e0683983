"""
Fixtures for the browser tests: the system Chromium through Playwright.

The live server pytest-django starts serves static files through Django's
finders, which know nothing of the hashed names the manifest storage puts in
the pages; in production WhiteNoise serves the collected files. So the browser
is given the collected files from STATIC_ROOT (run `manage.py collectstatic`
first), exactly what WhiteNoise would send.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 5_000


@pytest.fixture(scope="module")
def allow_orm_beside_playwright():
    """
    Let the test call the ORM while Playwright's event loop runs.

    Playwright's sync API keeps an asyncio loop running in this thread, and
    Django refuses database calls from a thread with a running loop.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright):
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM}"
        if os.environ.get("NEWSROOM_REQUIRE_BROWSER") == "1":
            pytest.fail(
                f"{reason}, and NEWSROOM_REQUIRE_BROWSER=1 says the browser tests "
                "must run: install Chromium (apt-get install chromium).",
                pytrace=False,
            )
        pytest.skip(f"{reason}; set NEWSROOM_REQUIRE_BROWSER=1 to fail instead.")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def serve_collected_static(route):
    """Answer /static/ requests from STATIC_ROOT, as WhiteNoise does."""
    relative = unquote(urlsplit(route.request.url).path).removeprefix(
        "/" + settings.STATIC_URL.lstrip("/")
    )
    root = Path(settings.STATIC_ROOT).resolve()
    file = (root / relative).resolve()
    if file.is_file() and file.is_relative_to(root):
        route.fulfill(path=file)
    else:
        route.fulfill(status=404, body="not collected")


@pytest.fixture
def open_page(browser, live_server):
    """
    Open pages in fresh browser contexts; fail on any missing static file and
    on anything the page's Content-Security-Policy refused.
    """
    contexts, failures, violations = [], [], []
    static_path = f"/{settings.STATIC_URL.strip('/')}/"

    def open_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        context.route(f"**{static_path}**", serve_collected_static)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "response",
            lambda response: (
                failures.append(f"{response.status} {response.url}")
                if response.status >= 400 and static_path in response.url
                else None
            ),
        )
        # Chromium reports each refusal as a console error naming the policy.
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert failures == [], "static files the pages use are missing"
    assert violations == [], "the Content-Security-Policy refused what a page uses"


def screenshot(page, name):
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
