"""An embargo that is enforced: nothing shows, and nothing can publish, before it."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Headline, Status
from articles.roles import EDITOR
from articles.workflow import perform

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FEEDS = ["feed-rss", "feed-atom", "feed-json"]


@pytest.fixture
def embargo():
    return (timezone.now() + timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture
def newsroom(make_article, make_headline, make_tag, embargo):
    """
    A story and its headline under embargo, both "published" (so scheduled
    for the embargo), on a topic nothing else carries; and a public headline
    pointing at the story.
    """
    topic = make_tag(name="Lunar exploration", slug="lunar-exploration")
    story = make_article(
        headline="Probe finds water ice in Shackleton crater",
        slug="probe-finds-ice",
        body="Mission scientists confirmed the find on Tuesday.",
        status=Status.DRAFT,
        embargo_until=embargo,
        tags=[topic],
    )
    story.publish()
    headline = make_headline(
        text="Ice confirmed in Shackleton crater",
        slug="ice-confirmed",
        status=Status.DRAFT,
        embargo_until=embargo,
        article=story,
        tags=[topic],
    )
    headline.publish()
    teaser = make_headline(text="Moon mission briefing at noon", article=story)
    return {"story": story, "headline": headline, "teaser": teaser, "topic": topic}


def lift(*items) -> None:
    """Move the embargo and publication time into the past, as time would."""
    now = timezone.now()
    for item in items:
        type(item).objects.filter(pk=item.pk).update(
            embargo_until=now - timedelta(minutes=2),
            published_at=now - timedelta(minutes=1),
        )
        item.refresh_from_db()


def text(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def sitemap_sections(client) -> str:
    """Return every section /sitemap.xml lists, concatenated."""
    index = ET.fromstring(text(client, reverse("sitemap")))
    return "".join(
        text(client, f"{urlsplit(loc.text).path}?{urlsplit(loc.text).query}")
        for loc in index.iterfind(f"{SITEMAP}sitemap/{SITEMAP}loc")
    )


def api_slugs(client, name) -> list[str]:
    response = client.get(reverse(name))
    assert response.status_code == 200, response.content
    return [item["slug"] for item in response.json()["results"]]


def found(client, url) -> bool:
    status = client.get(url).status_code
    assert status in (200, 404), (url, status)
    return status == 200


def in_archive(client, story) -> bool:
    story.refresh_from_db()
    month = timezone.localtime(story.published_at)
    url = reverse("articles:archive", args=[f"{month:%Y}", f"{month:%m}"])
    response = client.get(url)
    return response.status_code == 200 and story.get_absolute_url() in (
        response.content.decode()
    )


def in_change_feed(client, item, kind) -> bool:
    response = client.get(reverse("api:changes"))
    assert response.status_code == 200, response.content
    changes = response.json()["changes"]
    return (kind, item.slug) in {(change["type"], change["slug"]) for change in changes}


# Each public surface, asked whether it shows the embargoed story (or its
# headline, or the topic only they carry).
SURFACES = {
    "front-page": lambda c, n: (
        n["story"].get_absolute_url() in text(c, reverse("articles:front"))
    ),
    "story-page": lambda c, n: found(c, n["story"].get_absolute_url()),
    "headlines-page": lambda c, n: (
        f'id="{n["headline"].slug}"' in text(c, reverse("articles:headlines"))
    ),
    "headline-links-to-story": lambda c, n: (
        n["story"].get_absolute_url() in text(c, reverse("articles:headlines"))
    ),
    "topic-page": lambda c, n: (
        n["story"].get_absolute_url() in text(c, n["topic"].get_absolute_url())
    ),
    "topics-index": lambda c, n: (
        n["topic"].get_absolute_url() in text(c, reverse("articles:tags"))
    ),
    "archive": lambda c, n: in_archive(c, n["story"]),
    "search": lambda c, n: (
        n["story"].get_absolute_url()
        in text(c, reverse("articles:search"), q="Shackleton")
    ),
    **{
        name: lambda c, n, name=name: (
            n["story"].get_absolute_url() in text(c, reverse(f"articles:{name}"))
        )
        for name in FEEDS
    },
    **{
        f"tag-{name}": lambda c, n, name=name: (
            n["story"].get_absolute_url()
            in text(c, reverse(f"articles:tag-{name}", args=[n["topic"].slug]))
        )
        for name in FEEDS
    },
    "sitemap-stories": lambda c, n: (
        n["story"].get_absolute_url() in sitemap_sections(c)
    ),
    "sitemap-topics": lambda c, n: n["topic"].get_absolute_url() in sitemap_sections(c),
    "news-sitemap": lambda c, n: (
        n["story"].get_absolute_url() in text(c, reverse("sitemap-news"))
    ),
    "api-article-list": lambda c, n: (
        n["story"].slug in api_slugs(c, "api:article-list")
    ),
    "api-article-detail": lambda c, n: found(
        c, reverse("api:article-detail", args=[n["story"].slug])
    ),
    "api-headline-list": lambda c, n: (
        n["headline"].slug in api_slugs(c, "api:headline-list")
    ),
    "api-headline-detail": lambda c, n: found(
        c, reverse("api:headline-detail", args=[n["headline"].slug])
    ),
    "api-topic": lambda c, n: found(
        c, reverse("api:tag-detail", args=[n["topic"].slug])
    ),
    "api-changes-story": lambda c, n: in_change_feed(c, n["story"], "article"),
    "api-changes-headline": lambda c, n: in_change_feed(c, n["headline"], "headline"),
}


@pytest.mark.parametrize("surface", SURFACES)
def test_embargoed_story_is_absent_until_its_time(client, newsroom, surface):
    assert not SURFACES[surface](client, newsroom)


@pytest.mark.parametrize("surface", SURFACES)
def test_story_is_present_once_its_embargo_passes(client, newsroom, surface):
    lift(newsroom["story"], newsroom["headline"])
    assert SURFACES[surface](client, newsroom)


def test_is_public_refuses_an_item_under_embargo_whatever_its_time():
    # The database keeps such a row out (see below); the rule does not lean
    # on that alone.
    now = timezone.now()
    story = Article(
        status=Status.PUBLISHED,
        published_at=now - timedelta(hours=1),
        embargo_until=now + timedelta(hours=1),
    )
    assert not story.is_public


# Publishing under embargo.


@pytest.mark.parametrize("kind", ["story", "headline"])
def test_publish_schedules_at_the_embargo_time_rather_than_now(newsroom, kind):
    item = newsroom[kind]
    item.refresh_from_db()
    assert item.status == Status.PUBLISHED
    assert item.published_at == item.embargo_until
    assert item.is_scheduled
    assert not item.is_public
    assert item not in type(item).objects.published()


def test_publishing_for_a_time_before_the_embargo_waits_for_the_embargo(
    make_article, embargo
):
    story = make_article(status=Status.DRAFT, embargo_until=embargo)
    story.publish(at=embargo - timedelta(hours=1))
    story.refresh_from_db()
    assert story.published_at == embargo


def test_publishing_for_a_time_after_the_embargo_keeps_that_time(make_article, embargo):
    story = make_article(status=Status.DRAFT, embargo_until=embargo)
    later = embargo + timedelta(days=1)
    story.publish(at=later)
    story.refresh_from_db()
    assert story.published_at == later


def test_editor_publishing_through_the_workflow_schedules_for_the_embargo(
    make_article, django_user_model, embargo
):
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITOR))
    story = make_article(status=Status.REVIEW, embargo_until=embargo)
    transition = perform(story, "publish", user=editor)
    story.refresh_from_db()
    assert story.published_at == embargo
    assert not story.is_public
    assert "embargo" in transition.note


def test_republishing_a_withdrawn_story_waits_for_a_new_embargo(make_article, embargo):
    story = make_article()
    story.unpublish()
    story.embargo_until = embargo
    story.save()
    story.publish()
    story.refresh_from_db()
    assert story.published_at == embargo
    assert not story.is_public


# The database.


@pytest.fixture(params=[Article, Headline], ids=["story", "headline"])
def public_item(request, make_article, make_headline):
    """A public item whose embargo ended two hours ago."""
    now = timezone.now()
    make = make_article if request.param is Article else make_headline
    return make(
        embargo_until=now - timedelta(hours=2), published_at=now - timedelta(hours=1)
    )


def test_database_refuses_a_publication_time_before_the_embargo(public_item):
    model = type(public_item)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=public_item.pk).update(
            published_at=public_item.embargo_until - timedelta(minutes=1)
        )


def test_database_refuses_an_embargo_after_a_publication(public_item):
    model = type(public_item)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=public_item.pk).update(
            embargo_until=timezone.now() + timedelta(hours=1)
        )


def test_database_refuses_publishing_an_embargoed_draft_now(make_article, embargo):
    story = make_article(status=Status.DRAFT, embargo_until=embargo)
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=story.pk).update(
            status=Status.PUBLISHED, published_at=timezone.now()
        )


def test_database_allows_an_embargo_on_a_story_not_yet_published(make_article):
    story = make_article(status=Status.DRAFT, published_at=timezone.now())
    Article.objects.filter(pk=story.pk).update(
        embargo_until=timezone.now() + timedelta(days=1)
    )


# One rule.


def test_published_and_is_public_agree_before_and_after_the_embargo(
    newsroom, make_article, embargo
):
    now = timezone.now()
    stories = [
        newsroom["story"],
        make_article(status=Status.DRAFT, embargo_until=embargo),
        make_article(
            embargo_until=now - timedelta(hours=1),
            published_at=now + timedelta(hours=1),
        ),
        make_article(
            embargo_until=now - timedelta(hours=1),
            published_at=now - timedelta(hours=1),
        ),
        make_article(published_at=now - timedelta(hours=1)),
    ]
    expected = [False, False, False, True, True]
    public = set(Article.objects.published())
    assert [story.is_public for story in stories] == expected
    assert [story in public for story in stories] == expected

    lift(newsroom["story"])
    public = set(Article.objects.published())
    assert newsroom["story"].is_public
    assert newsroom["story"] in public
