"""
The server's cache of public responses (articles/cache.py): a second reader
is served without a query, every editorial change shows at once, a scheduled
story shows when it comes due, and nothing private is ever stored or served.

These tests commit for real (the cache starts a new generation only when a
change commits), so they run on a transactional database.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from articles.cache import GENERATION_KEY
from articles.models import Article, Correction, Status
from articles.previews import preview_url
from articles.roles import EDITOR
from articles.workflow import perform
from tests.test_workflow import admin_save

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.NEWSROOM_PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user(
        "edna", password="a-long-newsroom-passphrase-42", is_staff=True
    )
    user.groups.add(Group.objects.get(name=EDITOR))
    return user


@pytest.fixture
def china(make_tag):
    return make_tag(name="China", slug="china")


def text(response) -> str:
    return response.content.decode()


def api_detail(story) -> str:
    return reverse("api:article-detail", args=[story.slug])


PUBLIC_URLS = [
    "/",
    "/headlines/",
    "/tags/china/",
    "/search/?q=harbour",
    "/feeds/latest.rss",
    "/feeds/latest.json",
    "/sitemap.xml",
    "/api/v1/articles/",
    "/api/v1/tags/",
]


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_a_second_reader_is_served_from_the_cache_without_a_query(
    client, make_article, china, url, django_assert_num_queries
):
    make_article(headline="Harbour reopens", tags=[china])
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Last-Modified"] == first["Last-Modified"]
    assert second["Content-Type"] == first["Content-Type"]
    assert "public" in second["Cache-Control"]
    assert int(second["Age"]) >= 0


def test_a_cached_story_keeps_its_security_policy_and_json_ld_hash(
    client, make_article
):
    story = make_article(headline="Harbour reopens")
    first = client.get(story.get_absolute_url())
    second = client.get(story.get_absolute_url())
    assert "Age" in second
    assert "'sha256-" in first["Content-Security-Policy"]
    assert second["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert second["X-Frame-Options"] == "DENY"
    # A request id is each request's own, never the cached one's.
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_story_page_and_api_detail_are_cached(client, make_article):
    story = make_article(headline="Harbour reopens")
    for url in (story.get_absolute_url(), api_detail(story)):
        client.get(url)
        second = client.get(url)
        assert "Age" in second, url


def test_a_client_with_a_fresh_copy_gets_a_304_from_the_cache(
    client, make_article, django_assert_num_queries
):
    make_article()
    etag = client.get("/")["ETag"]
    with django_assert_num_queries(0):
        response = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_head_is_served_from_what_get_stored(
    client, make_article, django_assert_num_queries
):
    make_article()
    client.get("/")
    with django_assert_num_queries(0):
        response = client.head("/")
    assert response.status_code == 200


def test_cors_headers_follow_each_request_not_the_cached_one(client, make_article):
    make_article()
    client.get("/api/v1/articles/")  # stored without an Origin
    response = client.get("/api/v1/articles/", HTTP_ORIGIN="https://reader.example")
    assert "Age" in response
    assert response["Access-Control-Allow-Origin"] == "*"


# Every change an editor makes shows at once.


def change_and_read(client, url, change):
    before = text(client.get(url))
    assert "Age" in client.get(url)  # cached
    change()
    return before, client.get(url)


def test_publishing_shows_on_the_front_page_at_once(client, make_article, editor):
    make_article(headline="Already out")
    draft = make_article(headline="Harbour reopens", status=Status.DRAFT)
    before, after = change_and_read(
        client, "/", lambda: perform(draft, "publish", user=editor)
    )
    assert "Harbour reopens" not in before
    assert "Harbour reopens" in text(after)
    assert "Age" not in after


def test_an_edit_shows_on_the_story_page_at_once(client, make_article):
    story = make_article(headline="Harbour reopens")

    def edit():
        story.headline = "Harbour reopens after storm"
        story.save()

    before, after = change_and_read(client, story.get_absolute_url(), edit)
    assert "Harbour reopens after storm" not in before
    assert "Harbour reopens after storm" in text(after)


def test_an_edit_shows_in_the_api_at_once(client, make_article):
    story = make_article(headline="Harbour reopens")

    def edit():
        story.dek = "Ferries run again."
        story.save()

    _, after = change_and_read(client, api_detail(story), edit)
    assert after.json()["dek"] == "Ferries run again."


def test_unpublishing_takes_the_story_down_everywhere_at_once(
    client, make_article, editor, china
):
    story = make_article(headline="Harbour reopens", tags=[china])
    for url in ("/", "/feeds/latest.rss", "/tags/china/", "/api/v1/articles/"):
        client.get(url)
    client.get(story.get_absolute_url())
    perform(story, "unpublish", user=editor)
    assert client.get(story.get_absolute_url()).status_code == 404
    assert client.get(api_detail(story)).status_code == 404
    for url in ("/", "/feeds/latest.rss", "/tags/china/", "/api/v1/articles/"):
        assert "Harbour reopens" not in text(client.get(url)), url


def test_a_correction_shows_at_once(client, make_article):
    story = make_article(headline="Harbour reopens")
    _, after = change_and_read(
        client,
        story.get_absolute_url(),
        lambda: Correction.objects.create(
            article=story, text="The harbour is in Hull."
        ),
    )
    assert "The harbour is in Hull." in text(after)


def test_a_renamed_tag_shows_at_once(client, make_article, china):
    make_article(tags=[china])

    def rename():
        china.name = "People’s Republic of China"
        china.save()

    _, after = change_and_read(client, "/tags/china/", rename)
    assert "People’s Republic of China" in text(after)


def test_a_deleted_story_is_gone_at_once(client, make_article):
    story = make_article(headline="Harbour reopens")
    _, after = change_and_read(client, "/", story.delete)
    assert "Harbour reopens" not in text(after)


def test_new_tags_on_a_story_show_at_once(client, make_article, china):
    story = make_article()
    _, after = change_and_read(
        client, story.get_absolute_url(), lambda: story.tags.add(china)
    )
    assert "/tags/china/" in text(after)


def test_an_edit_in_the_admin_shows_at_once(client, make_article, editor):
    story = make_article(headline="Harbour reopens")
    client.get(story.get_absolute_url())
    admin = Client()
    admin.force_login(editor)
    response = admin_save(admin, story, headline="Harbour reopens after storm")
    assert response.status_code == 200
    assert "Harbour reopens after storm" in text(client.get(story.get_absolute_url()))


def test_an_edit_through_the_api_shows_at_once(client, make_article, editor):
    story = make_article(headline="Harbour reopens")
    client.get(api_detail(story))
    token = Token.objects.create(user=editor)
    response = Client().patch(
        api_detail(story),
        {"headline": "Harbour reopens after storm"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 200, response.content
    assert client.get(api_detail(story)).json()["headline"] == (
        "Harbour reopens after storm"
    )


def test_generating_an_archive_retires_cached_pages(client, make_article, vocabulary):
    make_article()
    client.get("/api/v1/articles/")
    call_command("generate_archive", "--articles", "5", "--headlines", "0", stdout=None)
    response = client.get("/api/v1/articles/")
    assert "Age" not in response
    assert len(response.json()["results"]) == 6


def test_a_scheduled_story_shows_when_it_comes_due(client, make_article):
    make_article(headline="Already out")
    due = timezone.now() + timedelta(seconds=2)
    make_article(headline="Harbour reopens", published_at=due)
    before = client.get("/")
    assert "Harbour reopens" not in text(before)
    assert int(before["Cache-Control"].split("max-age=")[1]) <= 2
    time.sleep(max(0, (due - timezone.now()).total_seconds()) + 0.1)
    assert "Harbour reopens" in text(client.get("/"))


def test_a_lost_generation_never_brings_back_an_old_page(client, make_article):
    story = make_article(headline="Harbour reopens")
    client.get("/")
    # A change the signals cannot see, and the cache forgetting the generation.
    Article.objects.filter(pk=story.pk).update(headline="Harbour reopens after storm")
    cache.delete(GENERATION_KEY)
    assert "Harbour reopens after storm" in text(client.get("/"))


# Nothing private is stored or served.


def test_an_editors_view_of_a_draft_never_reaches_readers(client, make_article, editor):
    draft = make_article(headline="Secret merger", status=Status.DRAFT)
    token = Token.objects.create(user=editor)
    as_editor = client.get(api_detail(draft), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert as_editor.status_code == 200
    assert "private" in as_editor["Cache-Control"]
    assert client.get(api_detail(draft)).status_code == 404
    assert client.get(api_detail(draft)).status_code == 404


def test_requests_with_a_session_are_neither_served_nor_stored(
    client, make_article, editor
):
    make_article(headline="Harbour reopens")
    logged_in = Client()
    logged_in.force_login(editor)
    logged_in.get("/")
    assert "Age" not in logged_in.get("/")
    client.get("/")
    assert "Age" not in logged_in.get("/")


def test_previews_and_the_admin_are_never_stored(client, make_article, editor):
    draft = make_article(headline="Secret merger", status=Status.DRAFT)
    url = preview_url(draft)
    first = client.get(url)
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    assert "Age" not in client.get(url)
    admin = Client()
    admin.force_login(editor)
    admin.get(reverse("admin:index"))
    assert "Age" not in admin.get(reverse("admin:index"))


def test_missing_pages_are_not_stored(client, make_article):
    draft = make_article(headline="Secret merger", status=Status.DRAFT)
    assert client.get(draft.get_absolute_url()).status_code == 404
    draft.publish()
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 200
    assert "Secret merger" in text(response)


def test_headline_changes_show_at_once(client, make_headline):
    headline = make_headline(text="Ferries resume")

    def edit():
        headline.text = "Ferries resume after storm"
        headline.save()

    _, after = change_and_read(client, "/headlines/", edit)
    assert "Ferries resume after storm" in text(after)
