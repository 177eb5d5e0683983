"""
A story's way through the newsroom in a real browser (the system Chromium
through Playwright): a reporter writes and submits a draft, an editor finds it
on the dashboard and publishes it, and readers can then see it.

As in test_browser.py, the browser gets the collected static files from
STATIC_ROOT (run `manage.py collectstatic` first), as WhiteNoise would serve
them: the live server knows nothing of the manifest's hashed names.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from articles.models import Article, Status
from articles.roles import EDITOR, REPORTER

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 5_000
PASSWORD = "a-long-newsroom-passphrase-42"


@pytest.fixture(scope="module", autouse=True)
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
    """Open pages in fresh browser contexts (one per person); fail on any
    missing static file."""
    contexts, failures = [], []
    static_path = f"/{settings.STATIC_URL.strip('/')}/"

    def open_page():
        context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
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
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert failures == [], "static files the pages use are missing"


@pytest.fixture
def staff(django_user_model):
    def make(username, role):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


def log_in(page, username):
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


def screenshot(page, name):
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def test_reporters_draft_goes_through_review_to_publication(open_page, staff):
    staff("rita", REPORTER)
    staff("edna", EDITOR)
    headline = "Night ferries return to the islands"

    # The reporter writes a draft and submits it.
    reporter = open_page()
    log_in(reporter, "rita")
    reporter.goto("/admin/articles/article/add/")
    reporter.locator("#id_headline").fill(headline)
    reporter.locator("#id_body").fill(
        "The overnight crossings resume on Friday after a two-year pause."
    )
    expect(reporter.get_by_role("button", name="Publish", exact=True)).to_have_count(0)
    reporter.get_by_role("button", name="Submit for review").click()
    expect(reporter.locator(".messagelist")).to_contain_text(
        "Submitted for review: now in review."
    )
    story = Article.objects.get(headline=headline)
    assert story.status == Status.REVIEW
    assert story.created_by.username == "rita"

    readers = open_page()
    assert readers.goto(story.get_absolute_url()).status == 404

    # The editor finds it waiting on the dashboard and publishes it.
    editor = open_page()
    log_in(editor, "edna")
    queue = editor.locator(".newsroom-dashboard section").filter(
        has_text="Waiting for review"
    )
    link = queue.get_by_role("link", name=headline)
    expect(link).to_be_visible()
    expect(editor.locator(".newsroom-dashboard")).to_contain_text("In review: 1")
    screenshot(editor, "editorial-dashboard.png")
    link.click()
    expect(editor.locator("#id_headline")).to_have_value(headline)
    editor.get_by_role("button", name="Publish", exact=True).click()
    expect(editor.locator(".messagelist")).to_contain_text("Published: now published.")

    story.refresh_from_db()
    assert story.status == Status.PUBLISHED
    assert story.is_public

    # Readers see it now.
    response = readers.goto(story.get_absolute_url())
    assert response.status == 200
    expect(readers.locator("h1")).to_have_text(headline)
    expect(readers.get_by_text("The overnight crossings resume")).to_be_visible()
    screenshot(readers, "editorial-published-story.png")
