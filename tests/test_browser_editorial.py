"""
A story's way through the newsroom in a real browser (the system Chromium
through Playwright): a reporter writes and submits a draft, an editor finds it
on the dashboard and publishes it, and readers can then see it.

The browser fixtures are in tests/browser_support.py.
"""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from articles.models import Article, Status
from articles.roles import EDITOR, REPORTER
from tests.browser_support import ARTIFACTS

pytestmark = pytest.mark.browser

PASSWORD = "a-long-newsroom-passphrase-42"


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
