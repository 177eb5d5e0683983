"""What search engines read: /sitemap.xml, /sitemap-news.xml and /robots.txt."""

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit
from urllib.robotparser import RobotFileParser

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from articles.models import Article, Headline, Status, Tag
from articles.sitemaps import StorySitemap

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
HOST = "http://testserver"
# YYYY-MM-DDThh:mm:ss, optional fraction of a second, then Z or ±hh:mm.
W3C_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

SITEMAP_URLS = [
    "/sitemap.xml",
    "/sitemap-stories.xml",
    "/sitemap-topics.xml",
    "/sitemap-news.xml",
]


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/xml"
    return ET.fromstring(response.content)


def sitemap_entries(client, **extra) -> dict[str, ET.Element]:
    """Follow /sitemap.xml to every file it lists; return their <url>s by <loc>."""
    index = parse(client.get(reverse("sitemap"), **extra))
    assert index.tag == f"{SITEMAP}sitemapindex"
    entries = {}
    for loc in index.iterfind(f"{SITEMAP}sitemap/{SITEMAP}loc"):
        parts = urlsplit(loc.text)
        urlset = parse(client.get(f"{parts.path}?{parts.query}", **extra))
        assert urlset.tag == f"{SITEMAP}urlset"
        for url in urlset.iterfind(f"{SITEMAP}url"):
            entries[url.findtext(f"{SITEMAP}loc")] = url
    return entries


def news_entries(client) -> dict[str, ET.Element]:
    """Return the <url>s of /sitemap-news.xml by <loc>, in document order."""
    urlset = parse(client.get(reverse("sitemap-news")))
    assert urlset.tag == f"{SITEMAP}urlset"
    return {
        url.findtext(f"{SITEMAP}loc"): url for url in urlset.iterfind(f"{SITEMAP}url")
    }


def absolute(item) -> str:
    return HOST + item.get_absolute_url()


def lastmod(entry: ET.Element) -> datetime:
    text = entry.findtext(f"{SITEMAP}lastmod")
    assert W3C_DATETIME.fullmatch(text), text
    return datetime.fromisoformat(text)


def backdate(item, **times: datetime) -> None:
    """Set ``updated_at`` (and any other time) without auto_now moving it."""
    type(item).objects.filter(pk=item.pk).update(**times)
    item.refresh_from_db()


# /sitemap.xml


def test_sitemap_lists_every_public_story_topic_and_page(
    client, make_article, make_headline, make_tag
):
    trade = make_tag(name="Trade")
    wire = make_tag(name="Wire only")
    unused = make_tag(name="Unused")
    stories = [make_article(tags=[trade]) for _ in range(3)]
    make_headline(tags=[wire])

    entries = sitemap_entries(client)

    for story in stories:
        assert lastmod(entries[absolute(story)]) == story.updated_at
    assert absolute(trade) in entries
    assert absolute(wire) in entries  # in use through a public headline
    assert absolute(unused) not in entries
    pages = [
        "articles:front",
        "articles:headlines",
        "articles:tags",
        "articles:corrections",
    ]
    for name in pages:
        assert HOST + reverse(name) in entries
    assert len(entries) == 3 + 2 + len(pages)


def test_sitemap_index_says_when_each_section_last_changed(client, make_article):
    story = make_article()
    index = parse(client.get(reverse("sitemap")))
    sections = {
        sitemap.findtext(f"{SITEMAP}loc"): sitemap
        for sitemap in index.iterfind(f"{SITEMAP}sitemap")
    }
    assert set(sections) == {
        f"{HOST}/sitemap-stories.xml",
        f"{HOST}/sitemap-topics.xml",
        f"{HOST}/sitemap-pages.xml",
    }
    assert lastmod(sections[f"{HOST}/sitemap-stories.xml"]) == story.updated_at


def test_scheduled_story_that_went_live_is_dated_from_going_live(client, make_article):
    story = make_article(published_at=timezone.now() - timedelta(hours=1))
    backdate(story, updated_at=timezone.now() - timedelta(days=2))
    entries = sitemap_entries(client)
    assert lastmod(entries[absolute(story)]) == story.published_at


def test_topic_is_dated_by_its_latest_public_story_or_headline(
    client, make_article, make_headline, make_tag
):
    now = timezone.now()
    trade = make_tag(name="Trade")
    backdate(trade, updated_at=now - timedelta(days=5))
    older = make_article(tags=[trade], published_at=now - timedelta(days=4))
    backdate(older, updated_at=now - timedelta(days=4))
    newer = make_headline(tags=[trade], published_at=now - timedelta(days=3))
    backdate(newer, updated_at=now - timedelta(days=2))
    make_article(tags=[trade], status=Status.DRAFT)  # edited just now

    entries = sitemap_entries(client)

    assert lastmod(entries[absolute(trade)]) == newer.updated_at


def test_stories_beyond_one_file_are_reachable_from_the_index(
    client, make_article, monkeypatch
):
    monkeypatch.setattr(StorySitemap, "limit", 2)
    stories = [make_article() for _ in range(5)]
    index = parse(client.get(reverse("sitemap")))
    locations = [loc.text for loc in index.iterfind(f"{SITEMAP}sitemap/{SITEMAP}loc")]
    assert f"{HOST}/sitemap-stories.xml?p=3" in locations
    entries = sitemap_entries(client)
    assert all(absolute(story) in entries for story in stories)


def test_sitemap_locations_use_https_when_requested_over_https(client, make_article):
    story = make_article()
    entries = sitemap_entries(client, secure=True)
    assert f"https://testserver{story.get_absolute_url()}" in entries
    assert all(location.startswith("https://testserver/") for location in entries)


def test_non_ascii_slug_is_percent_encoded_in_both_sitemaps(client, make_article):
    make_article(headline="习近平会见李在明", slug="习近平会见李在明")
    locations = [*sitemap_entries(client), *news_entries(client)]
    stories = [loc for loc in locations if "/articles/" in loc]
    assert len(stories) == 2
    for location in stories:
        assert location.isascii()
        assert unquote(location) == f"{HOST}/articles/习近平会见李在明/"


# /sitemap-news.xml


def test_news_sitemap_describes_a_story_published_an_hour_ago(
    client, make_article, settings
):
    settings.NEWSROOM_SITE_NAME = "Smith & Sons Gazette"
    story = make_article(
        headline="Tariffs lifted", published_at=timezone.now() - timedelta(hours=1)
    )

    news = news_entries(client)[absolute(story)].find(f"{NEWS}news")

    assert news.findtext(f"{NEWS}publication/{NEWS}name") == "Smith & Sons Gazette"
    assert news.findtext(f"{NEWS}publication/{NEWS}language") == "en"
    published = news.findtext(f"{NEWS}publication_date")
    assert W3C_DATETIME.fullmatch(published), published
    assert datetime.fromisoformat(published) == story.published_at
    assert news.findtext(f"{NEWS}title") == "Tariffs lifted"


def test_news_sitemap_leaves_out_stories_older_than_48_hours(client, make_article):
    now = timezone.now()
    recent = make_article(published_at=now - timedelta(hours=47))
    old = make_article(published_at=now - timedelta(days=3))
    entries = news_entries(client)
    assert absolute(recent) in entries
    assert absolute(old) not in entries


def test_news_sitemap_escapes_headlines(client, make_article):
    headline = 'Q&A: “Tariffs” <b>lifted</b> & ‘quotas’ — it\'s "over"'
    story = make_article(headline=headline)
    response = client.get(reverse("sitemap-news"))
    assert b"&amp;" in response.content and b"&lt;b&gt;" in response.content
    news = news_entries(client)[absolute(story)].find(f"{NEWS}news")
    assert news.findtext(f"{NEWS}title") == headline


def test_news_sitemap_lists_the_newest_1000_stories_first(client, db):
    now = timezone.now()
    Article.objects.bulk_create(
        Article(
            headline=f"Story {number}",
            slug=f"story-{number}",
            body="Body.",
            status=Status.PUBLISHED,
            published_at=now - timedelta(minutes=number),
        )
        for number in range(1, 1002)
    )
    locations = list(news_entries(client))
    assert len(locations) == 1000
    assert locations[0] == f"{HOST}/articles/story-1/"
    assert locations[-1] == f"{HOST}/articles/story-1000/"


def test_news_sitemap_changes_when_a_story_ages_out(client, make_article):
    published = timezone.now() - timedelta(hours=49)
    story = make_article(published_at=published)
    backdate(story, updated_at=published)
    aged_out = published + timedelta(hours=48)

    response = client.get(
        reverse("sitemap-news"),
        headers={"if-modified-since": http_date(published.timestamp() + 60)},
    )

    assert response.status_code == 200
    assert response["Last-Modified"] == http_date(aged_out.timestamp())
    assert absolute(story) not in news_entries(client)


# Nothing unpublished leaks.

# State: (status, publication time from now). Each hidden story but the
# scheduled one carries a time an hour ago, so only its status hides it.
HIDDEN = {
    "draft": (Status.DRAFT, timedelta(hours=-1)),
    "review": (Status.REVIEW, timedelta(hours=-1)),
    "scheduled": (Status.PUBLISHED, timedelta(hours=1)),
    "unpublished": (Status.UNPUBLISHED, timedelta(hours=-1)),
}


@pytest.mark.parametrize("state", HIDDEN)
def test_hidden_story_and_its_only_topic_are_in_no_sitemap(
    client, make_article, make_tag, state
):
    status, from_now = HIDDEN[state]
    secret = make_tag(name="Secret topic")
    public = make_article(headline="Public story")
    hidden = make_article(
        headline="Hidden story",
        tags=[secret],
        status=status,
        published_at=timezone.now() + from_now,
    )

    entries = sitemap_entries(client)
    news = news_entries(client)

    assert absolute(public) in entries and absolute(public) in news
    assert absolute(hidden) not in entries
    assert absolute(hidden) not in news
    assert absolute(secret) not in entries
    assert b"Hidden story" not in client.get(reverse("sitemap-news")).content


# /robots.txt


def test_robots_txt_admits_crawlers_except_to_the_admin_and_names_the_sitemaps(
    client, db
):
    response = client.get(reverse("robots"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    robots = RobotFileParser()
    robots.parse(response.content.decode().splitlines())
    assert robots.can_fetch("Googlebot", f"{HOST}/")
    assert robots.can_fetch("Googlebot", f"{HOST}/articles/a-story/")
    assert not robots.can_fetch("Googlebot", f"{HOST}/admin/")
    assert not robots.can_fetch("Googlebot", f"{HOST}/admin/articles/article/")
    assert robots.site_maps() == [f"{HOST}/sitemap.xml", f"{HOST}/sitemap-news.xml"]


def test_robots_txt_names_https_sitemaps_when_requested_over_https(client, db):
    robots = RobotFileParser()
    response = client.get(reverse("robots"), secure=True)
    robots.parse(response.content.decode().splitlines())
    assert robots.site_maps() == [
        "https://testserver/sitemap.xml",
        "https://testserver/sitemap-news.xml",
    ]


# HTTP caching and cost.


@pytest.mark.parametrize("url", [*SITEMAP_URLS, "/sitemap-pages.xml", "/robots.txt"])
def test_search_engine_files_may_be_cached_publicly(client, make_article, url):
    make_article()
    response = client.get(url)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert "max-age" in response["Cache-Control"]


@pytest.mark.parametrize("url", SITEMAP_URLS)
def test_sitemaps_answer_304_to_a_copy_as_new_as_their_last_change(
    client, make_article, make_tag, url
):
    make_article(tags=[make_tag()])
    first = client.get(url)
    assert first.status_code == 200
    again = client.get(url, headers={"if-modified-since": first["Last-Modified"]})
    assert again.status_code == 304
    assert "public" in again["Cache-Control"]


@pytest.mark.parametrize("url", SITEMAP_URLS)
def test_withdrawing_a_story_refreshes_the_sitemaps(
    client, make_article, make_tag, url
):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    tag = make_tag()
    backdate(tag, updated_at=an_hour_ago)
    story = make_article(tags=[tag], published_at=an_hour_ago)
    backdate(story, updated_at=an_hour_ago)
    cached = client.get(url)["Last-Modified"]

    story.unpublish()

    response = client.get(url, headers={"if-modified-since": cached})
    assert response.status_code == 200
    assert response["Last-Modified"] != cached


# Queries a response costs, whatever the number of stories and topics.
# Each file also asks, once, when the next scheduled story goes public, so
# that no cache keeps it past then.
QUERY_BUDGET = {
    # Last-Modified (4), then each section's number of files and last change (6).
    "/sitemap.xml": 13,
    "/sitemap-stories.xml": 4,  # Last-Modified, count, page
    # Last-Modified (3), public counts, topics' last changes, count, page
    "/sitemap-topics.xml": 8,
    "/sitemap-pages.xml": 1,
    "/sitemap-news.xml": 5,  # Last-Modified (2), count, page
    "/robots.txt": 0,
}


def add_stories(make_article, make_headline, tags, count):
    for number in range(count):
        story = make_article(tags=tags[number % 6 :][:5])
        make_headline(article=story, tags=tags[:2])


@pytest.mark.parametrize("url", QUERY_BUDGET)
def test_search_engine_files_cost_the_same_queries_for_3_or_40_stories(
    client, make_article, make_headline, make_tag, django_assert_max_num_queries, url
):
    tags = [make_tag() for _ in range(10)]
    add_stories(make_article, make_headline, tags, 3)
    with django_assert_max_num_queries(QUERY_BUDGET[url]):
        assert client.get(url).status_code == 200

    add_stories(make_article, make_headline, tags, 37)
    assert Article.objects.published().count() == 40
    assert Headline.objects.published().count() == 40
    assert Tag.objects.in_use().count() == 10
    with django_assert_max_num_queries(QUERY_BUDGET[url]):
        assert client.get(url).status_code == 200
