"""
Readers and editors in a real browser: the system Chromium through Playwright
(fixtures in tests/browser_support.py).
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import expect

from articles.models import Article, Headline, Status
from tests.browser_support import DESKTOP, PHONE, screenshot
from tests.conftest import SEED_DOCUMENT

pytestmark = pytest.mark.browser

EDITOR_PASSWORD = "a-long-editor-passphrase-42"


def test_reader_opens_a_story_from_the_front_page(open_page, live_server, make_article):
    article = make_article(
        headline="Harbour reopens after the storm",
        slug="harbour-reopens",
        body="Dock workers returned on Monday morning as the cranes restarted.",
    )

    page = open_page(PHONE)
    page.goto("/")
    link = page.get_by_role("link", name=article.headline)
    expect(link).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "reader-front-page-phone-360x740")
    link.click()

    expect(page).to_have_url(f"{live_server.url}/articles/harbour-reopens/")
    expect(page.locator("h1")).to_have_text(article.headline)
    expect(page.get_by_text("Dock workers returned on Monday morning")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "reader-story-phone-360x740")

    desktop = open_page(DESKTOP)
    desktop.goto("/")
    screenshot(desktop, "reader-front-page-desktop-1280x900")
    desktop.get_by_role("link", name=article.headline).click()
    expect(desktop.locator("h1")).to_have_text(article.headline)
    expect(
        desktop.get_by_text("Dock workers returned on Monday morning")
    ).to_be_visible()
    screenshot(desktop, "reader-story-desktop-1280x900")


@pytest.mark.parametrize("path", ["/", "/articles/harbour-reopens/"])
def test_page_has_one_h1_a_skip_link_and_a_main_landmark(open_page, make_article, path):
    make_article(headline="Harbour reopens after the storm", slug="harbour-reopens")

    page = open_page()
    page.goto(path)

    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_editor_publishes_a_draft_from_the_article_list(
    open_page, make_article, django_user_model
):
    django_user_model.objects.create_superuser(
        "editor", "editor@example.com", EDITOR_PASSWORD
    )
    make_article(headline="Council approves the new tram line")
    draft = make_article(
        headline="Ferry strike called off",
        slug="ferry-strike-called-off",
        status=Status.DRAFT,
    )

    page = open_page()
    assert page.goto(draft.get_absolute_url()).status == 404
    page.goto("/admin/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Articles").first.click()
    expect(page).to_have_title("Select article to change | Newsroom admin")

    page.get_by_role(
        "checkbox", name=f"Select this object for an action - {draft.headline}"
    ).check()
    page.get_by_label("Action:").select_option(label="Publish selected articles")
    with page.expect_response(
        lambda response: response.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name="Go").click()
    assert posted.value.status == 302, "the action did not succeed"
    expect(page.locator(".messagelist .success")).to_have_text("Published 1 article.")
    screenshot(page, "editor-article-list-after-publishing")

    assert Article.objects.published().filter(pk=draft.pk).exists()
    response = page.goto(draft.get_absolute_url())
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(draft.headline)


# The reader's whole journey, audited for accessibility at every step.

SERIOUS = {"serious", "critical"}


def audit(page, where):
    """Fail on any serious or critical axe-core violation on ``page``."""
    violations = Axe().run(page).response["violations"]
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in violations
        if violation["impact"] in SERIOUS
    ]
    assert serious == [], f"accessibility violations on {where}"
    return violations


@pytest.fixture
def seeded_site(vocabulary):
    """The seed document imported, and enough headlines for two pages."""
    call_command("seed", str(SEED_DOCUMENT), verbosity=0)
    story = Article.objects.get()
    for number in range(40):
        Headline.objects.create(
            text=f"Wire headline number {number}",
            slug=f"wire-{number}",
            status=Status.PUBLISHED,
            published_at=story.published_at,
        )
    return story


def test_reader_journey_has_no_errors_and_passes_an_accessibility_audit(
    open_page, seeded_site
):
    story = seeded_site
    page = open_page(DESKTOP)
    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto("/")
    audit(page, "the front page")
    page.get_by_role("link", name=story.headline).first.click()
    expect(page.locator("h1")).to_have_text(story.headline)
    audit(page, "a story page")

    page.get_by_role("link", name="South Korea", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("South Korea")
    expect(page.get_by_role("link", name=story.headline)).to_be_visible()
    audit(page, "a topic page")

    page.get_by_label("Search the news").fill("Takaichi")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("h1")).to_have_text("Search results for “Takaichi”")
    expect(page.get_by_text("Sanae Takaichi After Historic Election")).to_be_visible()
    audit(page, "search results")

    page.get_by_role("link", name="Headlines", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Latest headlines")
    audit(page, "the headlines page")
    page.get_by_role("link", name="Older").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    audit(page, "the second page of headlines")

    page.get_by_role("link", name="Topics", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Topics")
    audit(page, "the topics page")

    page.goto(story.get_absolute_url())
    page.get_by_role("link", name="More stories from").click()
    expect(page.locator("h1")).to_contain_text("Stories from")
    audit(page, "a month archive")

    assert problems == [], "the browser reported errors"


@pytest.mark.parametrize(
    "viewport, label", [(PHONE, "phone-360x740"), (DESKTOP, "desktop-1280x900")]
)
def test_seeded_front_page_and_story_fit_the_screen(
    open_page, seeded_site, viewport, label
):
    page = open_page(viewport)
    for path, name in [("/", "front-page"), (seeded_site.get_absolute_url(), "story")]:
        page.goto(path)
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        )
        screenshot(page, f"seeded-{name}-{label}")


def test_pages_follow_the_readers_colour_scheme(open_page, seeded_site):
    page = open_page()
    page.emulate_media(color_scheme="dark")
    page.goto(seeded_site.get_absolute_url())
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 20, 20)"
    audit(page, "a story in dark mode")
    screenshot(page, "seeded-story-dark-desktop-1280x900")
