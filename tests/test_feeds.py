"""The site and topic feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1."""

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import jsonschema
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.http import parse_http_date

from articles.models import Article, Status, Tag

SITE_FEEDS = ["feed-rss", "feed-atom", "feed-json"]
TOPIC_FEEDS = ["tag-feed-rss", "tag-feed-atom", "tag-feed-json"]
ALL_FEEDS = SITE_FEEDS + TOPIC_FEEDS
XML_FEEDS = ["feed-rss", "feed-atom", "tag-feed-rss", "tag-feed-atom"]
JSON_FEEDS = ["feed-json", "tag-feed-json"]
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
PUBLISHED = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def feed_url(name, tag=None):
    if name.startswith("tag-"):
        return reverse(f"articles:{name}", kwargs={"slug": tag.slug})
    return reverse(f"articles:{name}")


def read_entries(response) -> list[dict]:
    """Read any of the three formats into the same shape, as a feed reader would."""
    if response["Content-Type"].startswith("application/feed+json"):
        return [
            {
                "id": item["id"],
                "url": item["url"],
                "title": item["title"],
                "content": item["content_html"],
                "summary": item["summary"],
                "tags": item.get("tags", []),
                "published": datetime.fromisoformat(item["date_published"]),
                "author": item.get("authors", [{}])[0].get("name"),
            }
            for item in json.loads(response.content)["items"]
        ]
    parsed = parse_xml(response)
    return [
        {
            "id": entry.id,
            "url": entry.link,
            "title": entry.title,
            "content": entry.content[0].value,
            # RSS description and Atom summary are HTML: read the text shown.
            "summary": unescape(strip_tags(entry.summary)),
            "tags": [tag.term for tag in entry.get("tags", [])],
            "published": datetime(*entry.published_parsed[:6], tzinfo=UTC),
            "author": entry.get("author"),
        }
        for entry in parsed.entries
    ]


def parse_xml(response):
    # Unsanitised and unresolved, so that the feed's own markup is what is seen.
    parsed = feedparser.parse(
        response.content, sanitize_html=False, resolve_relative_uris=False
    )
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def read_headlines(client, name, tag=None) -> list[str]:
    response = client.get(feed_url(name, tag))
    assert response.status_code == 200
    return [entry["title"] for entry in read_entries(response)]


# JSON Feed 1.1, from https://www.jsonfeed.org/version/1.1/. Objects may carry
# extensions whose keys start with an underscore, and nothing else.
AUTHOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "avatar": {"type": "string", "format": "uri"},
    },
    "minProperties": 1,
    "patternProperties": {"^_": {}},
    "additionalProperties": False,
}
ATTACHMENT = {
    "type": "object",
    "required": ["url", "mime_type"],
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "mime_type": {"type": "string"},
        "title": {"type": "string"},
        "size_in_bytes": {"type": "number"},
        "duration_in_seconds": {"type": "number"},
    },
    "patternProperties": {"^_": {}},
    "additionalProperties": False,
}
ITEM = {
    "type": "object",
    "required": ["id"],
    "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "url": {"type": "string", "format": "uri"},
        "external_url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "content_html": {"type": "string"},
        "content_text": {"type": "string"},
        "summary": {"type": "string"},
        "image": {"type": "string", "format": "uri"},
        "banner_image": {"type": "string", "format": "uri"},
        "date_published": {"type": "string", "format": "date-time"},
        "date_modified": {"type": "string", "format": "date-time"},
        "authors": {"type": "array", "items": AUTHOR},
        "author": AUTHOR,  # deprecated by 1.1, still allowed
        "tags": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string"},
        "attachments": {"type": "array", "items": ATTACHMENT},
    },
    "patternProperties": {"^_": {}},
    "additionalProperties": False,
}
JSON_FEED_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri"},
        "feed_url": {"type": "string", "format": "uri"},
        "description": {"type": "string"},
        "user_comment": {"type": "string"},
        "next_url": {"type": "string", "format": "uri"},
        "icon": {"type": "string", "format": "uri"},
        "favicon": {"type": "string", "format": "uri"},
        "authors": {"type": "array", "items": AUTHOR},
        "author": AUTHOR,  # deprecated by 1.1, still allowed
        "language": {"type": "string"},
        "expired": {"type": "boolean"},
        "hubs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "url"],
                "properties": {
                    "type": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
        },
        "items": {"type": "array", "items": ITEM},
    },
    "patternProperties": {"^_": {}},
    "additionalProperties": False,
}

# jsonschema checks "date-time" and "uri" only with optional packages that are
# not installed; these checkers stand in for them.
FORMATS = jsonschema.FormatChecker([])
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII
)


@FORMATS.checks("date-time", raises=ValueError)
def is_rfc3339(value):
    if not isinstance(value, str):
        return True
    return bool(RFC3339.fullmatch(value)) and bool(datetime.fromisoformat(value))


@FORMATS.checks("uri")
def is_absolute_http_uri(value):
    return not isinstance(value, str) or bool(re.match(r"https?://[^/\s]+", value))


def test_schema_checks_formats():
    """Guard the stand-in format checks, so the schema tests can fail."""
    validator = jsonschema.Draft202012Validator(
        JSON_FEED_SCHEMA, format_checker=FORMATS
    )
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": []}
    assert validator.is_valid(good)
    item = {"id": "1", "content_html": "<p>x</p>"}
    assert validator.is_valid({**good, "items": [item]})
    for bad_item in [
        {"id": 1, "content_html": "x"},
        {"id": "1"},
        {**item, "date_published": "2025-03-14 09:26:53"},
        {**item, "date_published": "2025-03-14T09:26:53"},
        {**item, "date_published": "2025-02-30T09:26:53Z"},
        {**item, "url": "/articles/x/"},
        {**item, "authors": [{}]},
        {**item, "date_publish": "2025-03-14T09:26:53Z"},
    ]:
        assert not validator.is_valid({**good, "items": [bad_item]}), bad_item


@pytest.fixture
def topic(make_tag):
    return make_tag(name="Trade", slug="trade")


@pytest.fixture
def story(make_article, topic, make_tag):
    return make_article(
        headline="Tariffs lifted",
        dek="A deal at last, & more <soon>.",
        body="First *paragraph*.\n\nSecond paragraph with [a link](https://example.com/).",
        byline="A. Reporter",
        published_at=PUBLISHED,
        tags=[topic, make_tag(name="Economy", slug="economy")],
    )


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_feed_answers_with_its_content_type(client, story, topic, name):
    response = client.get(feed_url(name, topic))
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPES[name.rsplit("-", 1)[1]]


@pytest.mark.parametrize("name", XML_FEEDS)
def test_xml_feed_parses_cleanly_and_describes_itself(client, story, topic, name):
    url = feed_url(name, topic)
    parsed = parse_xml(client.get(url))
    feed = parsed.feed
    if name.startswith("tag-"):
        assert feed.title == "Newsroom: Trade"
        assert feed.link == "http://testserver" + topic.get_absolute_url()
    else:
        assert feed.title == "Newsroom"
        assert feed.link == "http://testserver/"
    assert feed.subtitle
    assert feed.language == "en"
    assert {"rel": "self", "href": "http://testserver" + url} in [
        {"rel": link.rel, "href": link.href} for link in feed.links
    ]
    assert feed.updated_parsed[:6] == story.updated_at.utctimetuple()[:6]


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_entries_carry_the_whole_story(client, story, topic, name):
    [entry] = read_entries(client.get(feed_url(name, topic)))
    assert entry["title"] == "Tariffs lifted"
    assert entry["url"] == "http://testserver" + story.get_absolute_url()
    assert entry["content"] == story.body_html
    assert "<em>paragraph</em>" in entry["content"]
    assert entry["summary"] == "A deal at last, & more <soon>."
    assert entry["tags"] == ["Economy", "Trade"]
    assert entry["published"] == PUBLISHED
    assert entry["author"] == "A. Reporter"
    # The id rests on the publication's domain, not on the host asked.
    assert entry["id"].startswith(f"tag:{settings.NEWSROOM_SITE_DOMAIN},")


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_story_without_a_dek_is_summarised_by_its_opening_words(
    client, make_article, topic, name
):
    make_article(
        body="The *council* voted & the mayor &lt;resigned&gt;.\n\n" + "word " * 200,
        tags=[topic],
    )
    [entry] = read_entries(client.get(feed_url(name, topic)))
    summary = entry["summary"]
    assert summary.startswith("The council voted & the mayor <resigned>. word")
    assert summary.endswith("…")
    assert len(summary.split()) == 50


@pytest.mark.parametrize("name", ["feed-atom", "tag-feed-atom"])
def test_atom_entries_say_when_the_story_was_last_updated(client, story, topic, name):
    [entry] = parse_xml(client.get(feed_url(name, topic))).entries
    assert entry.updated_parsed[:6] == story.updated_at.utctimetuple()[:6]
    assert entry.content[0].type == "text/html"


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_story_without_a_byline_has_no_author_of_its_own(
    client, make_article, topic, name
):
    make_article(byline="", tags=[topic])
    [entry] = read_entries(client.get(feed_url(name, topic)))
    assert entry["author"] is None


@pytest.mark.parametrize("name", JSON_FEEDS)
def test_json_feed_follows_the_json_feed_1_1_schema(
    client, story, make_article, topic, name
):
    make_article(byline="", dek="", tags=[topic])
    make_article(tags=[])
    feed = json.loads(client.get(feed_url(name, topic)).content)
    validator = jsonschema.Draft202012Validator(
        JSON_FEED_SCHEMA, format_checker=FORMATS
    )
    assert list(validator.iter_errors(feed)) == []
    assert len(feed["items"]) == (3 if name == "feed-json" else 2)


@pytest.mark.parametrize("name", JSON_FEEDS)
def test_json_feed_describes_itself_with_absolute_urls(client, story, topic, name):
    url = feed_url(name, topic)
    feed = json.loads(client.get(url).content)
    assert feed["feed_url"] == "http://testserver" + url
    assert feed["language"] == "en"
    if name.startswith("tag-"):
        assert feed["title"] == "Newsroom: Trade"
        assert feed["home_page_url"] == "http://testserver" + topic.get_absolute_url()
    else:
        assert feed["title"] == "Newsroom"
        assert feed["home_page_url"] == "http://testserver/"
    [item] = feed["items"]
    assert item["authors"] == [{"name": "A. Reporter"}]
    assert datetime.fromisoformat(item["date_modified"]) == story.updated_at


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_links_follow_the_scheme_and_host_the_feed_was_read_on(
    client, story, topic, name, settings
):
    settings.ALLOWED_HOSTS = ["news.example.com"]
    response = client.get(
        feed_url(name, topic), secure=True, HTTP_HOST="news.example.com"
    )
    [entry] = read_entries(response)
    assert entry["url"] == "https://news.example.com" + story.get_absolute_url()


def test_a_story_has_the_same_id_in_every_format(client, story, make_article):
    make_article()
    ids = [
        [entry["id"] for entry in read_entries(client.get(feed_url(name)))]
        for name in SITE_FEEDS
    ]
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids[0])) == 2


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_story_id_does_not_change_when_the_story_is_edited(client, story, topic, name):
    [before] = read_entries(client.get(feed_url(name, topic)))
    story.headline = "Tariffs lifted, then restored"
    story.slug = "tariffs-restored"
    story.body = "A different body."
    story.save()
    [after] = read_entries(client.get(feed_url(name, topic)))
    assert after["title"] == "Tariffs lifted, then restored"
    assert after["url"] != before["url"]
    assert after["id"] == before["id"]


@pytest.mark.parametrize("name", ["feed-rss", "tag-feed-rss"])
def test_rss_guid_is_not_a_permalink(client, story, topic, name):
    [entry] = parse_xml(client.get(feed_url(name, topic))).entries
    assert entry.guidislink is False
    assert entry.id.startswith("tag:")


@pytest.fixture
def hidden_stories(make_article, topic):
    now = timezone.now()
    make_article(headline="Still a draft", status=Status.DRAFT, tags=[topic])
    make_article(headline="Awaiting review", status=Status.REVIEW, tags=[topic])
    make_article(
        headline="Embargoed until tomorrow",
        published_at=now + timedelta(days=1),
        tags=[topic],
    )
    withdrawn = make_article(headline="Pulled after publication", tags=[topic])
    withdrawn.unpublish()
    return [
        "Still a draft",
        "Awaiting review",
        "Embargoed until tomorrow",
        "Pulled after publication",
    ]


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_nothing_unpublished_appears_in_a_feed(
    client, story, topic, hidden_stories, name
):
    response = client.get(feed_url(name, topic))
    assert read_headlines(client, name, topic) == ["Tariffs lifted"]
    for headline in hidden_stories:
        assert headline.encode() not in response.content


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_headlines_are_not_feed_items(client, story, topic, make_headline, name):
    make_headline(text="A wire headline", tags=[topic])
    assert read_headlines(client, name, topic) == ["Tariffs lifted"]


@pytest.mark.parametrize("name", TOPIC_FEEDS)
def test_topic_feed_lists_only_that_topics_stories(
    client, story, topic, make_article, make_tag, name
):
    make_article(headline="Elsewhere", tags=[make_tag(name="Sport")])
    make_article(headline="Untagged")
    assert read_headlines(client, name, topic) == ["Tariffs lifted"]


@pytest.mark.parametrize("name", TOPIC_FEEDS)
def test_topic_with_a_non_latin_slug_has_feeds(client, make_article, make_tag, name):
    tag = make_tag(name="习近平", slug="习近平")
    make_article(headline="会见", tags=[tag])
    assert read_headlines(client, name, tag) == ["会见"]


@pytest.mark.parametrize("name", SITE_FEEDS)
def test_feed_lists_the_latest_30_stories_newest_first(client, make_article, name):
    now = timezone.now()
    for hours in range(31, 0, -1):
        make_article(
            headline=f"{hours} hours ago", published_at=now - timedelta(hours=hours)
        )
    headlines = read_headlines(client, name)
    assert headlines == [f"{hours} hours ago" for hours in range(1, 31)]


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_script_in_a_body_never_reaches_a_feed(client, make_article, topic, name):
    make_article(
        body="Hello.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>",
        tags=[topic],
    )
    response = client.get(feed_url(name, topic))
    [entry] = read_entries(response)
    assert "Hello." in entry["content"]
    for text in ("<script", "alert(", "onerror"):
        assert text not in entry["content"]
        assert text not in entry["summary"]
    # Escaped or not, the attack's text is nowhere in the document.
    assert b"alert(" not in response.content
    assert b"onerror" not in response.content


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_headline_that_needs_escaping_round_trips_exactly(
    client, make_article, topic, name
):
    headline = "Profits < 5% & “rising” at O’Neil’s <b>café</b> 🚀"
    make_article(headline=headline, dek=headline, tags=[topic])
    response = client.get(feed_url(name, topic))
    [entry] = read_entries(response)
    assert entry["title"] == headline
    assert entry["summary"] == headline
    if name in XML_FEEDS:
        # Also as a reader sees it, with feedparser's default clean-up.
        [parsed] = feedparser.parse(response.content).entries
        assert parsed.title == headline
        assert unescape(parsed.summary) == headline


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_control_character_pasted_into_a_story_does_not_break_the_feed(
    client, make_article, topic, name
):
    make_article(headline="Line\x0bbreak", body="Vertical\x0btab.", tags=[topic])
    [entry] = read_entries(client.get(feed_url(name, topic)))
    assert entry["title"] == "Linebreak"


@pytest.fixture
def settled_story(story):
    """The story, last edited an hour after it was published and long ago."""
    Article.objects.filter(pk=story.pk).update(
        updated_at=PUBLISHED + timedelta(hours=1)
    )
    Tag.objects.update(updated_at=PUBLISHED)
    story.refresh_from_db()
    return story


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_feed_can_be_cached_publicly(client, settled_story, topic, settings, name):
    response = client.get(feed_url(name, topic))
    assert response["Last-Modified"] == "Fri, 14 Mar 2025 10:26:53 GMT"
    assert response["ETag"]
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert cache_control == {"public", f"max-age={settings.NEWSROOM_CACHE_MAX_AGE}"}


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_if_modified_since_gets_304_until_a_story_is_edited(
    client, settled_story, topic, name
):
    url = feed_url(name, topic)
    last_modified = client.get(url)["Last-Modified"]
    unchanged = client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert "public" in unchanged["Cache-Control"]
    settled_story.headline = "Tariffs lifted, update"
    settled_story.save()
    changed = client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert changed.status_code == 200
    assert read_headlines(client, name, topic) == ["Tariffs lifted, update"]


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_if_none_match_gets_304_until_a_story_is_edited(
    client, settled_story, topic, name
):
    url = feed_url(name, topic)
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    settled_story.headline = "Tariffs lifted, update"
    settled_story.save()
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_withdrawing_a_story_refreshes_the_feed(
    client, settled_story, make_article, topic, name
):
    older = make_article(headline="Still up", published_at=PUBLISHED, tags=[topic])
    Article.objects.filter(pk=older.pk).update(updated_at=PUBLISHED)
    Tag.objects.update(updated_at=PUBLISHED)
    url = feed_url(name, topic)
    before = client.get(url)["Last-Modified"]
    settled_story.unpublish()
    response = client.get(url, HTTP_IF_MODIFIED_SINCE=before)
    assert response.status_code == 200
    assert [entry["title"] for entry in read_entries(response)] == ["Still up"]
    # The feed is dated by the withdrawal, not by the newest story left in it.
    after = response["Last-Modified"]
    assert parse_http_date(after) > parse_http_date(before)
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=after).status_code == 304


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_feed_queries_do_not_grow_with_stories_or_tags(
    client, make_article, make_tag, django_assert_max_num_queries, name
):
    tags = [make_tag() for _ in range(5)]
    for _ in range(3):
        make_article(tags=tags[:2])
    url = feed_url(name, tags[0])
    with CaptureQueriesContext(connection) as few:
        assert len(read_entries(client.get(url))) == 3
    # When it last changed (for the 304, then for the feed's date), the topic,
    # the stories, their tags.
    assert len(few) == (5 if name in TOPIC_FEEDS else 4)
    for _ in range(27):
        make_article(tags=tags)
    for article in Article.objects.all():
        article.tags.set(tags)
    with django_assert_max_num_queries(len(few)):
        entries = read_entries(client.get(url))
    assert len(entries) == 30
    assert all(len(entry["tags"]) == 5 for entry in entries)


@pytest.mark.parametrize("name", TOPIC_FEEDS)
def test_unknown_topic_feed_is_not_found(client, db, name):
    url = reverse(f"articles:{name}", kwargs={"slug": "no-such-topic"})
    assert client.get(url).status_code == 404
