"""
The Content-Security-Policy in a real browser: readers' pages, the admin and
the API docs load with nothing refused, and a script slipped into a page
does not run.
"""

import pytest
from django.contrib.auth.models import Group

from articles.roles import CHIEF_EDITOR
from tests.browser_support import TIMEOUT_MS

pytestmark = pytest.mark.browser

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def chief(django_user_model):
    user = django_user_model.objects.create_user(
        "chief", password=PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=CHIEF_EDITOR))
    return user


def test_readers_pages_load_with_nothing_refused(open_page, make_article, make_tag):
    topic = make_tag(name="Harbours", slug="harbours")
    story = make_article(headline="Harbour reopens", tags=[topic])
    page = open_page()
    for path in (
        "/",
        story.get_absolute_url(),
        topic.get_absolute_url(),
        "/tags/",
        "/search/?q=harbour",
        "/headlines/",
        "/corrections/",
    ):
        response = page.goto(path)
        assert response.status == 200, path
        assert "Content-Security-Policy" in {k.title() for k in response.headers}
    # open_page fails the test on any refusal when it closes.


def test_editors_admin_and_api_docs_load_with_nothing_refused(
    open_page, chief, make_article
):
    story = make_article(headline="Harbour reopens")
    page = open_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    for path in (
        "/admin/",
        "/admin/articles/article/",
        f"/admin/articles/article/{story.pk}/change/",
        "/admin/articles/article/add/",
        f"/admin/articles/article/{story.pk}/history/",
        "/admin/articles/headline/",
        "/admin/articles/tag/",
    ):
        assert page.goto(path).status == 200, path
    # The change form's own scripts ran: the tag widget became autocomplete.
    page.goto(f"/admin/articles/article/{story.pk}/change/")
    page.wait_for_selector(".select2-container", state="attached")

    page.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Newsroom API" in page.inner_text(".swagger-ui .info .title")


def slip_in_a_script(route):
    """Answer with the real page and the server's headers, plus an inline script."""
    response = route.fetch()
    body = response.text().replace(
        "</main>", "<script>window.slippedIn = true</script></main>"
    )
    assert "slippedIn" in body
    route.fulfill(response=response, body=body)


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["policy", "no-policy"])
def test_a_script_slipped_into_a_page_does_not_run(
    browser, live_server, make_article, bypass_csp
):
    story = make_article(headline="Harbour reopens")
    context = browser.new_context(base_url=live_server.url, bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    refusals = []
    try:
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                refusals.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.route(f"**{story.get_absolute_url()}", slip_in_a_script)
        page.goto(story.get_absolute_url())
        ran = page.evaluate("window.slippedIn === true")
    finally:
        context.close()
    if bypass_csp:
        # Without the policy the same page runs it: the probe is a real script.
        assert ran is True
    else:
        assert ran is False
        assert any("inline script" in text for text in refusals), refusals
