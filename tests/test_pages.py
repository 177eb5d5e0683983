"""The reader's pages: what they show, what they hide, and what they cost."""

import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from django.views.defaults import server_error

from articles.models import Article, Status, Tag
from tests.conftest import SEED_DOCUMENT


@pytest.fixture
def seeded(vocabulary):
    call_command("seed", str(SEED_DOCUMENT), verbosity=0, stdout=None)
    return Article.objects.get()


@pytest.fixture
def hidden(make_article, make_headline, make_tag):
    """One story and one headline in each state readers must never see."""
    now = timezone.now()
    secret = make_tag(name="Secret topic", slug="secret-topic")
    states = {
        "draft": {"status": Status.DRAFT},
        "review": {"status": Status.REVIEW},
        "scheduled": {"published_at": now + timedelta(days=1)},
        "withdrawn": {
            "status": Status.UNPUBLISHED,
            "published_at": now - timedelta(days=2),
        },
    }
    items = {}
    for state, fields in states.items():
        items[state] = make_article(
            headline=f"Hidden {state} story zeppelin",
            slug=f"hidden-{state}",
            body=f"Nobody may read this {state} zeppelin story.",
            tags=[secret],
            **fields,
        )
        make_headline(
            text=f"Hidden {state} headline zeppelin",
            tags=[secret],
            **fields,
        )
    return items


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


PUBLIC_URLS = [
    reverse("articles:front"),
    reverse("articles:headlines"),
    reverse("articles:tags"),
    reverse("articles:search") + "?q=zeppelin",
]


# Every path answers with the seeded content.


def test_every_path_serves_the_seeded_content(client, seeded):
    story = seeded
    month = story.published_at
    urls = {
        reverse("articles:front"): story.headline,
        story.get_absolute_url(): "Economic cooperation is expected",
        reverse("articles:headlines"): "Trump Slams Super Bowl Halftime Show",
        reverse("articles:tags"): "Lee Jae Myung",
        reverse("articles:tag", args=["china"]): story.headline,
        reverse("articles:search") + "?q=Takaichi": "Sanae Takaichi",
        reverse("articles:archive", args=[f"{month:%Y}", f"{month:%m}"]): (
            story.headline
        ),
    }
    for name in ("feed-rss", "feed-atom", "feed-json"):
        urls[reverse(f"articles:{name}")] = "Xi Jinping"
    for name in ("tag-feed-rss", "tag-feed-atom", "tag-feed-json"):
        urls[reverse(f"articles:{name}", args=["south-korea"])] = "Xi Jinping"
    urls[reverse("sitemap")] = "sitemap-stories.xml"
    urls[reverse("sitemap-section", args=["stories"])] = story.slug
    urls[reverse("sitemap-news")] = "Xi Jinping"
    urls[reverse("robots")] = "Sitemap: http://testserver/sitemap.xml"
    for url, expected in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


@pytest.mark.parametrize(
    "url",
    [
        "/articles/no-such-story/",
        "/tags/no-such-topic/",
        "/archive/2026/13/",
        "/archive/1999/01/",
        "/headlines/?page=999",
        "/headlines/?page=two",
    ],
)
def test_unknown_addresses_are_not_found_in_the_site_design(client, seeded, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert 'class="masthead' in response.content.decode()


def test_server_error_page_is_in_the_site_design():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "site" in response.content.decode()  # the stylesheet is linked


# Nothing unpublished leaks, surface by surface.


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_lists_and_search_never_show_hidden_items(client, hidden, make_article, url):
    make_article(headline="Public zeppelin story", body="A zeppelin flew.")
    html = page(client, url)
    assert "Hidden" not in html


@pytest.mark.parametrize("state", ["draft", "review", "scheduled", "withdrawn"])
def test_hidden_story_page_is_not_found(client, hidden, state):
    assert client.get(hidden[state].get_absolute_url()).status_code == 404


def test_topic_page_and_counts_show_only_public_items(
    client, hidden, make_article, make_headline
):
    secret = Tag.objects.get(slug="secret-topic")
    html = page(client, secret.get_absolute_url())
    assert "Hidden" not in html
    # A topic that only hidden items carry is not listed at all.
    assert "Secret topic" not in page(client, reverse("articles:tags"))

    make_article(headline="Open story", tags=[secret])
    make_headline(text="Open headline", tags=[secret])
    topics = page(client, reverse("articles:tags"))
    entry = re.search(r"Secret topic</a>\s*<span class=\"meta\">([^<]*)</span>", topics)
    assert entry.group(1) == "1 story · 1 headline"


def test_month_archive_lists_only_public_stories(client, hidden, make_article):
    now = timezone.now()
    make_article(headline="Public this month", published_at=now - timedelta(hours=1))
    html = page(client, reverse("articles:archive", args=[f"{now:%Y}", f"{now:%m}"]))
    assert "Public this month" in html
    assert "Hidden" not in html


def test_month_with_only_hidden_stories_is_not_found(client, make_article):
    make_article(
        headline="Withdrawn long ago",
        status=Status.UNPUBLISHED,
        published_at=timezone.now().replace(year=2024, month=3, day=10),
    )
    assert client.get("/archive/2024/03/").status_code == 404


def test_related_stories_and_linked_headlines_are_public_only(
    client, hidden, make_article, make_headline
):
    secret = Tag.objects.get(slug="secret-topic")
    story = make_article(headline="Open story", tags=[secret])
    make_headline(text="Draft pointer", status=Status.DRAFT, article=story)
    make_headline(text="Public pointer", article=story)
    html = page(client, story.get_absolute_url())
    assert "Hidden" not in html
    assert "Draft pointer" not in html
    assert "Public pointer" in html


# The story page.


def test_story_page_shows_the_story(client, make_article, make_tag):
    trade = make_tag(name="Trade", slug="trade")
    story = make_article(
        headline="Tariffs lifted",
        dek="A deal at last.",
        byline="Ana Reporter",
        body="First *paragraph*.\n\n<script>alert(1)</script>Second.",
        tags=[trade],
    )
    html = page(client, story.get_absolute_url())
    assert html.count("<h1") == 1
    assert "Tariffs lifted" in html
    assert "A deal at last." in html
    assert "By Ana Reporter" in html
    assert "<em>paragraph</em>" in html
    assert "<script>alert" not in html
    assert f'href="{trade.get_absolute_url()}"' in html
    assert "Updated" not in html


def test_story_page_says_when_it_was_updated(client, make_article):
    story = make_article()
    day_ago = timezone.now() - timedelta(days=1)
    Article.objects.filter(pk=story.pk).update(published_at=day_ago, created_at=day_ago)
    story.refresh_from_db()
    story.body = "A corrected body."
    story.save()
    html = page(client, story.get_absolute_url())
    assert "Updated <time" in html


def test_story_page_lists_related_stories_sharing_a_tag(client, make_article, make_tag):
    trade, sport = make_tag(name="Trade"), make_tag(name="Sport")
    story = make_article(headline="Main", tags=[trade])
    make_article(headline="Cousin story", tags=[trade, sport])
    make_article(headline="Stranger story", tags=[sport])
    html = page(client, story.get_absolute_url())
    assert "Cousin story" in html
    assert "Stranger story" not in html


def test_headline_that_tells_a_story_links_to_it(client, make_article, make_headline):
    story = make_article(headline="The full story")
    make_headline(text="Short version", article=story)
    for url in (reverse("articles:front"), reverse("articles:headlines")):
        assert f'href="{story.get_absolute_url()}">Short version' in page(client, url)


def test_unicode_slug_resolves(client, make_article):
    story = make_article(headline="习近平会见李在明", slug="习近平会见李在明")
    assert client.get(story.get_absolute_url()).status_code == 200


# Search engines and sharing.


def json_ld(html):
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S
    )
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_story_has_news_article_json_ld(client, make_article, make_tag):
    story = make_article(
        headline="Harbour reopens", byline="Ana Reporter", tags=[make_tag(name="Ports")]
    )
    data = json_ld(page(client, story.get_absolute_url()))
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Harbour reopens"
    assert data["author"] == {"@type": "Person", "name": "Ana Reporter"}
    assert data["publisher"]["name"] == "Newsroom"
    assert data["keywords"] == ["Ports"]
    assert data["datePublished"] == story.published_at.isoformat()
    assert data["url"] == f"http://testserver{story.get_absolute_url()}"


def test_json_ld_cannot_be_broken_out_of(client, make_article):
    story = make_article(
        headline='Quote " and </script><script>alert(1)</script> & more',
        dek="<!-- sneaky -->",
    )
    html = page(client, story.get_absolute_url())
    assert "<script>alert(1)" not in html
    data = json_ld(html)
    assert data["headline"].startswith('Quote " and </script><script>alert(1)')
    assert data["description"] == "<!-- sneaky -->"


def test_story_has_canonical_open_graph_and_twitter_tags(client, make_article):
    story = make_article(headline="Harbour reopens", dek="Cranes restart.")
    html = page(client, story.get_absolute_url())
    url = f"http://testserver{story.get_absolute_url()}"
    assert f'<link rel="canonical" href="{url}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:title" content="Harbour reopens">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<meta name="twitter:description" content="Cranes restart.">' in html


def test_search_results_are_not_indexed(client, seeded):
    assert 'content="noindex' in page(client, reverse("articles:search"), q="China")


# Search.


def test_search_finds_stories_and_headlines_ranked_by_headline_first(
    client, make_article, make_headline
):
    make_article(headline="Budget passes", body="The harbour budget passed.")
    make_article(headline="Harbour reopens", body="Cranes restart.")
    make_headline(text="Harbour strike ends")
    response = client.get(reverse("articles:search"), {"q": "harbour"})
    results = response.context["results"]
    assert len(results) == 3
    assert {getattr(item, "headline", None) for item in results[:2]} & {
        "Harbour reopens",
        None,
    }
    assert results[-1].headline == "Budget passes"


def test_search_needs_every_word(client, make_article):
    make_article(headline="Harbour reopens", body="Cranes restart.")
    make_article(headline="Harbour closes", body="Storm.")
    response = client.get(reverse("articles:search"), {"q": "harbour cranes"})
    assert [item.headline for item in response.context["results"]] == [
        "Harbour reopens"
    ]


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "Type a word or two"),
        ("   ", "Type a word or two"),
        ("!!! ??? ***", "nothing to search for"),
        ("zzzzqqq", "No stories or headlines match"),
        ('"unbalanced OR -', "No stories or headlines match"),
        ("harbour\x00\x1b", "No stories or headlines match"),
        ("x" * 5000, "only its first"),
        ("<script>alert(1)</script>", "No stories or headlines match"),
    ],
)
def test_odd_searches_get_a_friendly_page(client, seeded, query, message):
    html = page(client, reverse("articles:search"), q=query)
    assert message in html
    assert "<script>alert(1)" not in html


def test_search_pages_keep_the_query(client, make_headline):
    for number in range(25):
        make_headline(text=f"Harbour news {number}")
    first = page(client, reverse("articles:search"), q="harbour")
    assert 'href="?q=harbour&amp;page=2"' in first
    second = client.get(reverse("articles:search"), {"q": "harbour", "page": 2})
    assert len(second.context["results"]) == 5


# Lists paginate with stable URLs.


def test_headlines_page_paginates(client, make_headline):
    for _ in range(55):
        make_headline()
    first = client.get(reverse("articles:headlines"))
    second = client.get(reverse("articles:headlines"), {"page": 2})
    assert len(first.context["headline_list"]) == 50
    assert len(second.context["headline_list"]) == 5
    assert 'href="?page=2"' in first.content.decode()


def test_topic_page_paginates_its_stories(client, make_article, make_tag):
    tag = make_tag(name="Busy")
    for _ in range(25):
        make_article(tags=[tag])
    second = client.get(tag.get_absolute_url(), {"page": 2})
    assert len(second.context["articles"]) == 5
    assert client.get(tag.get_absolute_url(), {"page": 3}).status_code == 404


def test_front_page_leads_with_featured_stories(client, make_article, make_headline):
    make_article(headline="Ordinary story")
    make_article(
        headline="Featured older story",
        featured=True,
        published_at=timezone.now() - timedelta(days=30),
    )
    for number in range(15):
        make_article(headline=f"Filler {number}")
    make_headline(text="A wire headline")
    html = page(client, reverse("articles:front"))
    assert html.index("Featured older story") < html.index("Filler 14")
    assert "A wire headline" in html
    assert 'href="/tags/' in html or "Topics" in html


# HTTP caching.


def test_pages_can_be_cached_and_revalidated(client, make_article):
    story = make_article()
    for url in [
        reverse("articles:front"),
        story.get_absolute_url(),
        reverse("articles:headlines"),
        reverse("articles:tags"),
    ]:
        response = client.get(url)
        assert "public" in response["Cache-Control"]
        assert "max-age=" in response["Cache-Control"]
        assert response.has_header("Last-Modified")
        again = client.get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
        assert again.status_code == 304, url
        tagged = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert tagged.status_code == 304, url


def test_an_edit_makes_the_pages_fresh_again(client, make_article):
    story = make_article(published_at=timezone.now() - timedelta(days=1))
    Article.objects.filter(pk=story.pk).update(
        updated_at=timezone.now() - timedelta(days=1)
    )
    seen = client.get(reverse("articles:front"))["Last-Modified"]
    story.refresh_from_db()
    story.headline = "Edited headline"
    story.save()
    response = client.get(reverse("articles:front"), HTTP_IF_MODIFIED_SINCE=seen)
    assert response.status_code == 200
    assert "Edited headline" in response.content.decode()


def test_a_scheduled_story_going_live_makes_the_front_page_fresh(client, make_article):
    earlier = timezone.now() - timedelta(days=1)
    make_article(published_at=earlier)
    scheduled = make_article(
        headline="Goes live now", published_at=timezone.now() + timedelta(hours=1)
    )
    Article.objects.update(updated_at=earlier)
    seen = client.get(reverse("articles:front"))["Last-Modified"]
    Article.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - timedelta(seconds=2)
    )
    response = client.get(reverse("articles:front"), HTTP_IF_MODIFIED_SINCE=seen)
    assert response.status_code == 200
    assert "Goes live now" in response.content.decode()


def test_story_last_modified_is_its_own_latest_change(client, make_article):
    story = make_article()
    response = client.get(story.get_absolute_url())
    assert response["Last-Modified"] == http_date(
        max(story.updated_at, story.published_at).timestamp()
    )


# A fixed number of queries, whatever the size.


def build(make_article, make_headline, make_tag, *, stories, tags):
    tag_objects = [make_tag() for _ in range(tags)]
    for number in range(stories):
        chosen = [tag_objects[(number + k) % tags] for k in range(min(tags, 5))]
        story = make_article(tags=chosen, featured=number % 7 == 0)
        make_headline(article=story, tags=chosen[:2])
    return tag_objects[0], Article.objects.first()


def count_queries(client, django_assert_max_num_queries, urls, budget):
    for url in urls:
        with django_assert_max_num_queries(budget, info=url):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("stories, tags", [(1, 1), (200, 50)])
def test_front_page_and_story_page_need_at_most_six_queries(
    client, make_article, make_headline, make_tag, django_assert_max_num_queries,
    stories, tags,
):  # fmt: skip
    tag, story = build(
        make_article, make_headline, make_tag, stories=stories, tags=tags
    )
    urls = [reverse("articles:front"), story.get_absolute_url()]
    count_queries(client, django_assert_max_num_queries, urls, 6)


@pytest.mark.parametrize("stories, tags", [(1, 1), (200, 50)])
def test_list_pages_need_a_fixed_number_of_queries(
    client, make_article, make_headline, make_tag, django_assert_max_num_queries,
    stories, tags,
):  # fmt: skip
    tag, story = build(
        make_article, make_headline, make_tag, stories=stories, tags=tags
    )
    month = story.published_at
    urls = [
        reverse("articles:headlines"),
        reverse("articles:tags"),
        tag.get_absolute_url(),
        reverse("articles:archive", args=[f"{month:%Y}", f"{month:%m}"]),
        reverse("articles:search") + "?q=story",
    ]
    count_queries(client, django_assert_max_num_queries, urls, 8)


# Found in review: each of these once leaked or went stale.


def test_headline_linked_to_a_hidden_story_does_not_give_its_address_away(
    client, hidden, make_headline
):
    tag = Tag.objects.get(slug="secret-topic")
    make_headline(text="Zeppelin pointer", article=hidden["draft"], tags=[tag])
    for url in [
        reverse("articles:front"),
        reverse("articles:headlines"),
        tag.get_absolute_url(),
        reverse("articles:search") + "?q=zeppelin+pointer",
    ]:
        html = page(client, url)
        assert "Zeppelin pointer" in html, url
        assert hidden["draft"].slug not in html, url


def test_story_page_is_fresh_again_when_a_related_story_is_withdrawn(
    client, make_article, make_tag
):
    earlier = timezone.now() - timedelta(days=1)
    topic = make_tag(name="Ports")
    story = make_article(headline="Main story", tags=[topic], published_at=earlier)
    cousin = make_article(headline="Cousin story", tags=[topic], published_at=earlier)
    Article.objects.update(updated_at=earlier)
    Tag.objects.update(updated_at=earlier)
    seen = client.get(story.get_absolute_url())
    assert "Cousin story" in seen.content.decode()
    cousin.unpublish()
    again = client.get(
        story.get_absolute_url(), HTTP_IF_MODIFIED_SINCE=seen["Last-Modified"]
    )
    assert again.status_code == 200
    assert "Cousin story" not in again.content.decode()


def test_deleting_a_story_makes_the_front_page_fresh_again(client, make_article):
    earlier = timezone.now() - timedelta(days=1)
    make_article(headline="Stays", published_at=earlier)
    doomed = make_article(headline="Deleted story", published_at=earlier)
    Article.objects.update(updated_at=earlier)
    seen = client.get(reverse("articles:front"))["Last-Modified"]
    doomed.delete()
    response = client.get(reverse("articles:front"), HTTP_IF_MODIFIED_SINCE=seen)
    assert response.status_code == 200
    assert "Deleted story" not in response.content.decode()


def test_topic_page_pages_through_all_its_headlines(client, make_headline, make_tag):
    tag = make_tag(name="Wires")
    for number in range(25):
        make_headline(text=f"Wire {number:02d}", tags=[tag])
    first = page(client, tag.get_absolute_url())
    assert 'href="?headlines_page=2"' in first
    second = page(client, tag.get_absolute_url(), headlines_page=2)
    assert second.count("Wire ") == 5


def test_a_cached_page_never_outlives_the_next_scheduled_story(
    client, make_article, settings
):
    settings.NEWSROOM_CACHE_MAX_AGE = 600
    make_article(headline="Out now")
    make_article(
        headline="Goes out soon", published_at=timezone.now() + timedelta(seconds=90)
    )
    for url in [
        reverse("articles:front"),
        reverse("articles:feed-rss"),
        reverse("api:article-list"),
    ]:
        response = client.get(url)
        max_age = int(response["Cache-Control"].split("max-age=")[1].split(",")[0])
        assert 0 < max_age <= 90, url


def test_without_a_schedule_pages_are_cached_for_the_usual_while(
    client, make_article, settings
):
    settings.NEWSROOM_CACHE_MAX_AGE = 600
    make_article(headline="Out now")
    response = client.get(reverse("articles:front"))
    assert "max-age=600" in response["Cache-Control"]


def test_favicon_ico_leads_to_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert "favicon" in response["Location"]
    assert response["Location"].endswith(".svg")
    assert client.get(response["Location"]).status_code == 200
