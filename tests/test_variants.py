"""Headline variants: the search headline, the social headline, and where each shows."""

import json
import re
import xml.etree.ElementTree as ET

import feedparser
import pytest
from django.urls import reverse

MAIN = "Council approves harbour budget"
SEO = "Harbour budget 2025: council approves €40m plan"
SOCIAL = "The harbour is getting €40m. Here’s what changes"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
FEEDS = ["feed-rss", "feed-atom", "feed-json"]


@pytest.fixture
def story(make_article, make_tag):
    return make_article(
        headline=MAIN,
        seo_headline=SEO,
        social_headline=SOCIAL,
        tags=[make_tag(name="Harbour", slug="harbour")],
    )


@pytest.fixture
def plain_story(make_article):
    """A story with no variants: every surface falls back to the headline."""
    return make_article(headline=MAIN)


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1)


def meta(html: str, attribute: str, name: str) -> str:
    return re.search(rf'<meta {attribute}="{name}" content="([^"]*)">', html).group(1)


def h1(html: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S).group(1)


def json_ld(html: str) -> dict:
    (block,) = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S
    )
    return json.loads(block)


def feed_titles(client, name: str) -> list[str]:
    response = client.get(reverse(f"articles:{name}"))
    assert response.status_code == 200
    if name == "feed-json":
        return [item["title"] for item in json.loads(response.content)["items"]]
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [entry.title for entry in parsed.entries]


def news_titles(client) -> list[str]:
    response = client.get(reverse("sitemap-news"))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    return [news.findtext(f"{NEWS}title") for news in root.iter(f"{NEWS}news")]


# The story page.


def test_story_page_title_is_the_search_headline(client, story):
    html = page(client, story.get_absolute_url())
    assert title(html) == f"{SEO} · Newsroom"


def test_social_cards_use_the_social_headline(client, story):
    html = page(client, story.get_absolute_url())
    assert meta(html, "property", "og:title") == SOCIAL
    assert meta(html, "name", "twitter:title") == SOCIAL


def test_story_json_ld_headline_is_the_search_headline(client, story):
    data = json_ld(page(client, story.get_absolute_url()))
    assert data["headline"] == SEO


def test_story_page_shows_readers_the_main_headline(client, story):
    html = page(client, story.get_absolute_url())
    assert h1(html) == MAIN
    body = html[html.index("<main") :]
    assert SEO not in body
    assert SOCIAL not in body


def test_story_without_variants_uses_the_headline_everywhere(client, plain_story):
    html = page(client, plain_story.get_absolute_url())
    assert title(html) == f"{MAIN} · Newsroom"
    assert meta(html, "property", "og:title") == MAIN
    assert meta(html, "name", "twitter:title") == MAIN
    assert json_ld(html)["headline"] == MAIN
    assert h1(html) == MAIN


def test_search_headline_alone_leaves_social_cards_on_the_headline(
    client, make_article
):
    story = make_article(headline=MAIN, seo_headline=SEO)
    html = page(client, story.get_absolute_url())
    assert title(html) == f"{SEO} · Newsroom"
    assert meta(html, "property", "og:title") == MAIN


def test_social_headline_alone_leaves_the_title_on_the_headline(client, make_article):
    story = make_article(headline=MAIN, social_headline=SOCIAL)
    html = page(client, story.get_absolute_url())
    assert title(html) == f"{MAIN} · Newsroom"
    assert json_ld(html)["headline"] == MAIN
    assert meta(html, "name", "twitter:title") == SOCIAL


# Feeds and the Google News sitemap.


@pytest.mark.parametrize("name", FEEDS)
def test_feed_item_title_is_the_search_headline(client, story, name):
    assert feed_titles(client, name) == [SEO]


@pytest.mark.parametrize("name", FEEDS)
def test_feed_item_title_falls_back_to_the_headline(client, plain_story, name):
    assert feed_titles(client, name) == [MAIN]


def test_news_sitemap_title_is_the_search_headline(client, story):
    assert news_titles(client) == [SEO]


def test_news_sitemap_title_falls_back_to_the_headline(client, plain_story):
    assert news_titles(client) == [MAIN]


# Everywhere else readers see the main headline.


def test_lists_show_the_main_headline_only(client, story, make_article):
    month = story.published_at
    urls = [
        reverse("articles:front"),
        reverse("articles:tag", args=["harbour"]),
        reverse("articles:archive", args=[f"{month:%Y}", f"{month:%m}"]),
        reverse("articles:search") + "?q=harbour",
    ]
    for url in urls:
        html = page(client, url)
        assert MAIN in html, url
        assert SEO not in html, url
        assert SOCIAL not in html, url


def test_related_stories_show_the_main_headline(client, story, make_article):
    other = make_article(headline="Ferry fares rise", tags=list(story.tags.all()))
    html = page(client, other.get_absolute_url())
    assert f">{MAIN}</a>" in html
    assert SEO not in html
