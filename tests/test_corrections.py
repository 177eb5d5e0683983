"""Corrections as readers and consumers see them: page, feeds, API, JSON-LD."""

import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from articles.models import Article, Correction, Headline, Status, Tag

LONG_AGO = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
TOMORROW = timezone.now() + timedelta(days=1)
FEEDS = ["feed-rss", "feed-atom", "feed-json"]


def correct(article: Article, text: str, **fields) -> Correction:
    return Correction.objects.create(article=article, text=text, **fields)


def age_everything() -> None:
    """Date every story, headline and tag long ago, so that only new changes count."""
    for model in (Article, Headline):
        model.objects.update(updated_at=LONG_AGO, created_at=LONG_AGO)
        model.objects.published().update(published_at=LONG_AGO)
    Tag.objects.update(updated_at=LONG_AGO)


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def json_ld(html: str) -> dict:
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S
    )
    assert len(blocks) == 1
    return json.loads(blocks[0])


def feed_entries(client, name: str) -> list[dict]:
    """Read a feed's entries as a reader would: title, content, updated time."""
    response = client.get(reverse(f"articles:{name}"))
    assert response.status_code == 200
    if name == "feed-json":
        return [
            {
                "title": item["title"],
                "content": item["content_html"],
                "updated": datetime.fromisoformat(item["date_modified"]),
            }
            for item in json.loads(response.content)["items"]
        ]
    parsed = feedparser.parse(
        response.content, sanitize_html=False, resolve_relative_uris=False
    )
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [
        {
            "title": entry.title,
            "content": entry.content[0].value,
            # RSS 2.0 has no date of change for an item.
            "updated": datetime.fromisoformat(entry.updated)
            if "updated" in entry
            else None,
        }
        for entry in parsed.entries
    ]


# The story page.


def test_story_page_lists_its_corrections_oldest_first_with_their_times(
    client, make_article
):
    story = make_article()
    first = correct(story, "An earlier version misspelt the mayor’s name.")
    second = correct(story, "The bridge opened in 1931, not 1913.")

    html = page(client, story.get_absolute_url())

    assert 'id="corrections"' in html
    first_at = html.index(f'id="correction-{first.pk}"')
    second_at = html.index(f'id="correction-{second.pk}"')
    assert first_at < second_at
    assert "An earlier version misspelt the mayor’s name." in html[first_at:second_at]
    assert "The bridge opened in 1931, not 1913." in html[second_at:]
    assert f'datetime="{second.created_at.isoformat()}"' in html[second_at:]


def test_corrected_story_says_so_near_the_top_and_links_to_the_corrections(
    client, make_article
):
    story = make_article(body="The harbour reopened on Monday.")
    correct(story, "It reopened on Tuesday.")

    html = page(client, story.get_absolute_url())

    note = re.search(r'<a href="#corrections">This story has been corrected</a>', html)
    assert note is not None
    assert note.start() < html.index("The harbour reopened on Monday.")


def test_story_without_corrections_shows_no_correction_notice(client, make_article):
    html = page(client, make_article().get_absolute_url())
    assert "This story has been corrected" not in html
    assert 'id="corrections"' not in html


def test_correction_text_is_shown_as_text_not_markup(client, make_article):
    story = make_article()
    correct(story, "We wrote <script>alert(1)</script> & meant\n\nsomething else.")

    html = page(client, story.get_absolute_url())

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; meant" in html
    assert "<p>something else.</p>" in html


def test_story_page_with_several_corrections_needs_at_most_six_queries(
    client, make_article, make_headline, make_tag, django_assert_max_num_queries
):
    tags = [make_tag() for _ in range(3)]
    story = make_article(tags=tags)
    make_article(tags=tags[:1])  # a related story
    make_headline(article=story)
    for number in range(5):
        correct(story, f"Correction number {number}.")

    with django_assert_max_num_queries(6):
        html = page(client, story.get_absolute_url())
    assert html.count('id="correction-') == 5


# When the story changed.


def test_correction_moves_the_story_pages_last_modified(client, make_article):
    story = make_article()
    age_everything()
    url = story.get_absolute_url()
    before = client.get(url)["Last-Modified"]
    assert before == http_date(LONG_AGO.timestamp())

    correct(story, "A figure was wrong.")

    response = client.get(url, headers={"if-modified-since": before})
    assert response.status_code == 200
    assert parse_http_date(response["Last-Modified"]) > parse_http_date(before)
    assert "A figure was wrong." in response.content.decode()


def test_change_feed_reports_a_corrected_story_as_updated(api, make_article):
    story = make_article()
    age_everything()
    first = api.get(reverse("api:changes")).json()
    assert [change["id"] for change in first["changes"]] == [story.pk]
    quiet = api.get(reverse("api:changes"), {"since": first["next"]}).json()
    assert quiet["changes"] == []

    correct(story, "A figure was wrong.")

    changes = api.get(reverse("api:changes"), {"since": first["next"]}).json()
    assert [
        (change["type"], change["id"], change["action"])
        for change in changes["changes"]
    ] == [("article", story.pk, "updated")]


def test_correction_moves_the_story_in_the_sitemap(client, make_article):
    story = make_article()
    age_everything()

    correction = correct(story, "A figure was wrong.")

    response = client.get(reverse("sitemap-section", args=["stories"]))
    text = response.content.decode()
    lastmod = re.search(r"<lastmod>([^<]+)</lastmod>", text).group(1)
    assert datetime.fromisoformat(lastmod) >= correction.created_at.replace(
        microsecond=0
    )


# Feeds.


@pytest.mark.parametrize("name", FEEDS)
def test_feed_entry_carries_the_corrections_after_the_story(client, make_article, name):
    story = make_article(body="The bridge opened in 1913.")
    make_article(headline="Never corrected")
    correct(story, "It opened in 1931, not 1913 & not later.")

    entries = {entry["title"]: entry for entry in feed_entries(client, name)}

    content = entries[story.headline]["content"]
    assert "Corrections" in content
    assert content.index("The bridge opened in 1913.") < content.index(
        "It opened in 1931, not 1913 &amp; not later."
    )
    assert "Corrections" not in entries["Never corrected"]["content"]


@pytest.mark.parametrize("name", ["feed-atom", "feed-json"])
def test_feed_entry_is_updated_when_the_story_is_corrected(client, make_article, name):
    story = make_article()
    age_everything()
    (entry,) = feed_entries(client, name)
    assert entry["updated"] == LONG_AGO

    correction = correct(story, "A figure was wrong.")

    (entry,) = feed_entries(client, name)
    assert entry["updated"] >= correction.created_at.replace(microsecond=0)


@pytest.mark.parametrize("name", ["feed-atom", "feed-json"])
def test_feed_entry_is_dated_by_its_latest_correction_when_that_is_later(
    client, make_article, name
):
    # bulk_create sends no signal, as when corrections are loaded from a dump:
    # the story's own times stay old, and the feed still dates the entry.
    story = make_article()
    age_everything()
    later = LONG_AGO + timedelta(days=2)
    Correction.objects.bulk_create(
        [
            Correction(
                article=story, text="First.", created_at=LONG_AGO + timedelta(days=1)
            ),
            Correction(article=story, text="Second.", created_at=later),
        ]
    )

    (entry,) = feed_entries(client, name)

    assert entry["updated"] == later


# The API.


def test_api_story_lists_its_corrections_oldest_first(api, make_article):
    story = make_article()
    first = correct(story, "First correction.")
    second = correct(story, "Second correction.")

    data = api.get(reverse("api:article-detail", args=[story.slug])).json()

    assert data["corrections"] == [
        {
            "text": "First correction.",
            "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
        },
        {
            "text": "Second correction.",
            "created_at": second.created_at.isoformat().replace("+00:00", "Z"),
        },
    ]


def test_api_story_without_corrections_has_an_empty_list(api, make_article):
    story = make_article()
    data = api.get(reverse("api:article-detail", args=[story.slug])).json()
    assert data["corrections"] == []


def test_api_story_with_several_corrections_needs_at_most_six_queries(
    api, make_article, make_tag, django_assert_max_num_queries
):
    story = make_article(tags=[make_tag(), make_tag()])
    for number in range(5):
        correct(story, f"Correction number {number}.")

    with django_assert_max_num_queries(6):
        response = api.get(reverse("api:article-detail", args=[story.slug]))
    assert len(response.json()["corrections"]) == 5


def test_api_story_list_queries_do_not_grow_with_corrected_stories(api, make_article):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(reverse("api:article-list"), {"page_size": 100})
        assert response.status_code == 200
        return len(captured)

    correct(make_article(), "Only one corrected story.")
    few = queries()
    for _ in range(20):
        story = make_article()
        correct(story, "One.")
        correct(story, "Two.")

    assert queries() == few
    listed = api.get(reverse("api:article-list"), {"page_size": 100}).json()
    assert sum(len(story["corrections"]) for story in listed["results"]) == 41


def test_api_schema_marks_corrections_read_only(api, db):
    response = api.get(
        reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    schema = json.loads(response.content)
    article = schema["components"]["schemas"]["Article"]
    assert article["properties"]["corrections"]["readOnly"] is True
    correction = schema["components"]["schemas"]["Correction"]
    assert set(correction["properties"]) == {"text", "created_at"}


# JSON-LD.


def test_json_ld_lists_corrections_as_correction_comments(client, make_article):
    story = make_article(headline='Quote " and </script> in a story')
    first = correct(story, "First, with </script><script>alert(1)</script>.")
    second = correct(story, "Second.")

    html = page(client, story.get_absolute_url())
    data = json_ld(html)

    assert "<script>alert(1)" not in html
    assert data["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "First, with </script><script>alert(1)</script>.",
            "datePublished": first.created_at.isoformat(),
            "url": f"http://testserver{first.get_absolute_url()}",
        },
        {
            "@type": "CorrectionComment",
            "text": "Second.",
            "datePublished": second.created_at.isoformat(),
            "url": f"http://testserver{second.get_absolute_url()}",
        },
    ]
    modified = datetime.fromisoformat(data["dateModified"])
    assert modified >= second.created_at


def test_json_ld_of_an_uncorrected_story_has_no_correction(client, make_article):
    data = json_ld(page(client, make_article().get_absolute_url()))
    assert "correction" not in data


# The corrections page.


def listed_corrections(html: str) -> list[str]:
    """Return the correction links of the /corrections/ page, in order."""
    return re.findall(r'<a href="([^"]*#correction-\d+)"', html)


def test_corrections_page_lists_corrections_newest_first_linking_to_each(
    client, make_article
):
    now = timezone.now()
    old_story = make_article(headline="Old story")
    new_story = make_article(headline="New story")
    older = correct(old_story, "Older correction.", created_at=now - timedelta(days=2))
    newer = correct(new_story, "Newer correction.", created_at=now - timedelta(days=1))
    newest = correct(old_story, "Newest correction.", created_at=now)

    html = page(client, reverse("articles:corrections"))

    assert listed_corrections(html) == [
        newest.get_absolute_url(),
        newer.get_absolute_url(),
        older.get_absolute_url(),
    ]
    assert f"{old_story.get_absolute_url()}#correction-{newest.pk}" in html
    assert "Old story" in html and "New story" in html
    assert "Newer correction." in html


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Status.DRAFT},
        {"status": Status.REVIEW},
        {"status": Status.UNPUBLISHED, "published_at": LONG_AGO},
        {"published_at": TOMORROW},
        {"published_at": TOMORROW, "embargo_until": TOMORROW},
    ],
    ids=["draft", "review", "unpublished", "scheduled", "embargoed"],
)
def test_corrections_page_never_shows_corrections_of_hidden_stories(
    client, make_article, fields
):
    hidden = make_article(headline="Secret zeppelin story", **fields)
    correct(hidden, "Secret zeppelin correction.")
    public = make_article(headline="Open story")
    shown = correct(public, "Open correction.")

    html = page(client, reverse("articles:corrections"))

    assert "zeppelin" not in html
    assert hidden.slug not in html
    assert listed_corrections(html) == [shown.get_absolute_url()]


def test_withdrawn_story_takes_its_corrections_off_the_corrections_page(
    client, make_article
):
    story = make_article(headline="Soon withdrawn")
    correct(story, "A correction.")
    assert "Soon withdrawn" in page(client, reverse("articles:corrections"))

    story.unpublish()

    assert "Soon withdrawn" not in page(client, reverse("articles:corrections"))


def test_corrections_page_shows_twenty_a_page(client, make_article):
    story = make_article()
    now = timezone.now()
    corrections = [
        correct(story, f"Correction {n}.", created_at=now - timedelta(minutes=n))
        for n in range(21)
    ]
    url = reverse("articles:corrections")

    first = page(client, url)
    second = page(client, url, page=2)

    assert listed_corrections(first) == [c.get_absolute_url() for c in corrections[:20]]
    assert listed_corrections(second) == [corrections[20].get_absolute_url()]
    assert 'rel="next"' in first
    assert client.get(url, {"page": 3}).status_code == 404


def test_corrections_page_queries_do_not_grow_with_corrections(
    client, make_article, django_assert_max_num_queries
):
    for _ in range(25):
        correct(make_article(), "A correction.")
    with django_assert_max_num_queries(3):  # Last-Modified, count, page
        page(client, reverse("articles:corrections"))


def test_corrections_page_is_linked_from_the_site_footer(client, make_article):
    html = page(client, make_article().get_absolute_url())
    footer = html[html.index('<footer class="site-footer">') :]
    assert f'href="{reverse("articles:corrections")}">Corrections</a>' in footer


def test_empty_corrections_page_says_there_are_none(client, db):
    assert "No corrections yet." in page(client, reverse("articles:corrections"))


# Appending corrections in the admin.


@pytest.fixture
def editor_client(client, django_user_model):
    from django.contrib.auth.models import Group

    from articles.roles import EDITOR

    user = django_user_model.objects.create_user(
        "corrector", password="a-long-and-unusual-passphrase", is_staff=True
    )
    user.groups.add(Group.objects.get(name=EDITOR))
    client.force_login(user)
    client.user = user
    return client


def test_an_editor_appends_a_correction_in_the_admin(editor_client, make_article):
    from tests.test_workflow import change_url, form_data

    story = make_article(headline="Dam opens")
    correct(story, "An earlier version gave the wrong year.")
    url = change_url(story)
    page = editor_client.get(url)
    assert 'name="corrections-0-text"' not in page.content.decode()
    data = form_data(page)
    total = int(data["corrections-TOTAL_FORMS"][0])
    data["corrections-TOTAL_FORMS"] = [str(total + 1)]
    data[f"corrections-{total}-text"] = ["The dam is 40 metres high, not 400."]
    # A saved correction cannot be rewritten, whatever is posted.
    data["corrections-0-text"] = ["Nothing was wrong."]

    response = editor_client.post(url, data, follow=True)

    assert response.status_code == 200
    texts = list(
        story.corrections.order_by("created_at").values_list("text", flat=True)
    )
    assert texts == [
        "An earlier version gave the wrong year.",
        "The dam is 40 metres high, not 400.",
    ]
    assert story.corrections.latest("created_at").created_by == editor_client.user
