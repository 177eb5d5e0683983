"""The JSON API under /api/v1/: what a consumer reads, filters, pages and caches."""

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from articles.models import Article, Headline, Status, Tag, TagKind

ON_SQLITE = django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.fixture
def reader(django_user_model):
    """A signed-in account with no editorial rights."""
    return django_user_model.objects.create_user("reader", password="not-used-here")


@pytest.fixture
def staff_without_permissions(django_user_model):
    return django_user_model.objects.create_user(
        "intern", password="not-used-here", is_staff=True
    )


@pytest.fixture(params=["anonymous", "reader", "staff_without_permissions"])
def consumer(request):
    """A client that may see only public items, however it is signed in."""
    client = APIClient()
    if request.param != "anonymous":
        client.force_authenticate(request.getfixturevalue(request.param))
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def slugs(response) -> list[str]:
    return [item["slug"] for item in results(response)]


def assert_error(response, status: int, parameter: str | None = None) -> dict:
    """Check the one error shape; with ``parameter``, that it names it."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"]
    assert error["message"]
    if parameter is not None:
        assert parameter in error["fields"]
        assert parameter in error["message"]
    return error


def absolute(path: str) -> str:
    return f"http://testserver{path}"


def aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def set_times(item, **times) -> None:
    """Put timestamps where a test needs them (``save()`` would move updated_at)."""
    type(item).objects.filter(pk=item.pk).update(**times)


# Resources and fields.


def test_api_root_lists_every_resource_and_the_docs(api):
    response = api.get(reverse("api:root"))
    assert response.status_code == 200
    links = response.json()
    assert links == {
        "articles": absolute(reverse("api:article-list")),
        "headlines": absolute(reverse("api:headline-list")),
        "tags": absolute(reverse("api:tag-list")),
        "changes": absolute(reverse("api:changes")),
        "schema": absolute(reverse("api:schema")),
        "docs": absolute(reverse("api:docs")),
    }
    for link in links.values():
        assert api.get(urlsplit(link).path).status_code == 200, link


def test_story_carries_its_text_times_tags_links_and_headlines(
    api, make_article, make_headline, make_tag
):
    place = make_tag(name="Taipei", slug="taipei", kind=TagKind.PLACE)
    story = make_article(
        headline="Typhoon nears Taipei",
        slug="typhoon-nears-taipei",
        dek="Schools close as the storm approaches.",
        byline="By A. Reporter",
        body=(
            "The storm is **strong**.\n\n<script>alert('x')</script>\n\n"
            "[Click](javascript:alert(1)) <img src=x onerror=alert(1)>"
        ),
        tags=[place],
    )
    pointer = make_headline(text="Typhoon: schools close", article=story)

    response = api.get(reverse("api:article-detail", args=[story.slug]))

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == story.pk
    assert data["slug"] == "typhoon-nears-taipei"
    assert data["headline"] == "Typhoon nears Taipei"
    assert data["dek"] == "Schools close as the storm approaches."
    assert data["byline"] == "By A. Reporter"
    assert data["body"] == story.body
    assert "<strong>strong</strong>" in data["body_html"]
    for dangerous in ("<script", "javascript:", "onerror"):
        assert dangerous not in data["body_html"]
    assert aware(data["published_at"]) == story.published_at
    assert aware(data["updated_at"]) == story.updated_at
    assert [(tag["slug"], tag["name"]) for tag in data["tags"]] == [
        ("taipei", "Taipei")
    ]
    assert data["url"] == absolute(story.get_absolute_url())
    assert api.get(story.get_absolute_url()).status_code == 200
    assert data["api_url"] == absolute(reverse("api:article-detail", args=[story.slug]))
    assert [(h["slug"], h["api_url"]) for h in data["headlines"]] == [
        (pointer.slug, absolute(reverse("api:headline-detail", args=[pointer.slug])))
    ]


def test_story_list_items_have_the_same_fields_as_the_detail(api, make_article):
    story = make_article()
    listed = results(api.get(reverse("api:article-list")))
    detail = api.get(reverse("api:article-detail", args=[story.slug])).json()
    assert listed == [detail]


def test_headline_carries_its_text_tags_times_and_story(
    api, make_article, make_headline, make_tag
):
    topic = make_tag(name="Weather", slug="weather")
    story = make_article(slug="typhoon")
    headline = make_headline(text="Typhoon nears", tags=[topic], article=story)

    data = api.get(reverse("api:headline-detail", args=[headline.slug])).json()

    assert data["slug"] == headline.slug
    assert data["text"] == "Typhoon nears"
    assert [(tag["slug"], tag["name"]) for tag in data["tags"]] == [
        ("weather", "Weather")
    ]
    assert aware(data["published_at"]) == headline.published_at
    assert aware(data["updated_at"]) == headline.updated_at
    assert data["article"]["slug"] == "typhoon"
    assert data["article"]["url"] == absolute(story.get_absolute_url())
    assert data["article"]["api_url"] == absolute(
        reverse("api:article-detail", args=["typhoon"])
    )


def test_timestamps_carry_the_sites_time_zone_offset(api, make_article, settings):
    settings.TIME_ZONE = "Asia/Taipei"
    story = make_article(published_at=datetime(2025, 6, 1, 4, 0, tzinfo=UTC))
    data = api.get(reverse("api:article-detail", args=[story.slug])).json()
    assert data["published_at"] == "2025-06-01T12:00:00+08:00"
    assert aware(data["updated_at"]) == story.updated_at


def test_unicode_slugs_work_in_addresses_and_filters(
    api, make_article, make_headline, make_tag
):
    taiwan = make_tag(name="台灣", slug="台灣")
    story = make_article(slug="颱風-來了", tags=[taiwan])
    make_headline(slug="颱風", tags=[taiwan], article=story)

    detail = api.get(reverse("api:article-detail", args=["颱風-來了"]))
    assert detail.status_code == 200
    assert api.get(urlsplit(detail.json()["api_url"]).path).status_code == 200
    assert slugs(api.get(reverse("api:headline-list"), {"tag": "台灣"})) == ["颱風"]
    tag = api.get(reverse("api:tag-detail", args=["台灣"]))
    assert tag.json()["article_count"] == 1


def test_headline_without_a_story_has_no_article(api, make_headline):
    headline = make_headline()
    data = api.get(reverse("api:headline-detail", args=[headline.slug])).json()
    assert data["article"] is None


def test_tag_carries_its_kind_and_public_counts(
    api, make_article, make_headline, make_tag
):
    person = make_tag(name="Ada Lovelace", slug="ada-lovelace", kind=TagKind.PERSON)
    make_article(tags=[person])
    make_article(tags=[person])
    make_headline(tags=[person])

    data = api.get(reverse("api:tag-detail", args=["ada-lovelace"])).json()

    assert data["slug"] == "ada-lovelace"
    assert data["name"] == "Ada Lovelace"
    assert data["kind"] == "person"
    assert data["article_count"] == 2
    assert data["headline_count"] == 1
    assert data["url"] == absolute(person.get_absolute_url())
    assert data["api_url"] == absolute(reverse("api:tag-detail", args=[person.slug]))


# Visibility: only public items, through every door.

HIDDEN_STATES = ["draft", "review", "scheduled", "unpublished"]


@pytest.fixture
def newsroom(make_article, make_headline, make_tag):
    """
    A public story and two public headlines, and a story and a headline in
    each state readers must never see. Hidden items match every filter the
    public ones match (and were published in the window the date filters
    ask for), so only the visibility rule keeps them out.
    """
    now = timezone.now()
    harbour = make_tag(name="Harbour", slug="harbour", kind=TagKind.PLACE)
    embargoed = make_tag(name="Embargoed", slug="embargoed", kind=TagKind.PERSON)
    states = {
        "draft": {"status": Status.DRAFT, "published_at": now - timedelta(hours=1)},
        "review": {"status": Status.REVIEW, "published_at": now - timedelta(hours=1)},
        "scheduled": {"published_at": now + timedelta(days=1)},
        "unpublished": {
            "status": Status.UNPUBLISHED,
            "published_at": now - timedelta(days=1),
        },
    }
    public_story = make_article(
        headline="Zeppelin lands in the harbour",
        slug="public-story",
        featured=True,
        tags=[harbour],
    )
    hidden_stories = {
        state: make_article(
            headline=f"Zeppelin {state} story",
            slug=f"{state}-story",
            body=f"The zeppelin {state} body.",
            featured=True,
            tags=[harbour, embargoed],
            **fields,
        )
        for state, fields in states.items()
    }
    make_headline(
        text="Zeppelin sighted",
        slug="public-headline",
        tags=[harbour],
        article=public_story,
    )
    # Public, but the story it points to is not.
    make_headline(
        text="Zeppelin story to come",
        slug="orphan-headline",
        tags=[harbour],
        article=hidden_stories["draft"],
    )
    for state, fields in states.items():
        make_headline(
            text=f"Zeppelin {state} headline",
            slug=f"{state}-headline",
            tags=[harbour, embargoed],
            article=public_story,
            **fields,
        )
    return {"now": now, "hidden_stories": hidden_stories}


HIDDEN_SLUGS = [f"{state}-story" for state in HIDDEN_STATES] + [
    f"{state}-headline" for state in HIDDEN_STATES
]


def assert_nothing_hidden(response) -> None:
    text = response.content.decode()
    for slug in HIDDEN_SLUGS:
        assert slug not in text, slug
    assert "embargoed" not in text


def visibility_filters(now: datetime) -> list[dict]:
    return [
        {},
        {"tag": "harbour"},
        {"tag_kind": "place"},
        {"featured": "true"},
        {"published_after": (now - timedelta(days=3)).isoformat()},
        {"published_before": (now + timedelta(days=2)).isoformat()},
        {"updated_since": (now - timedelta(days=3)).isoformat()},
        {"q": "zeppelin"},
        {"ordering": "published_at"},
        {"ordering": "-published_at"},
        {"ordering": "updated_at"},
        {"ordering": "-updated_at"},
        {"page_size": "100"},
    ]


@pytest.mark.parametrize(
    "name, public",
    [
        ("api:article-list", {"public-story"}),
        ("api:headline-list", {"public-headline", "orphan-headline"}),
    ],
)
def test_lists_show_only_public_items_whatever_the_filter_or_ordering(
    consumer, newsroom, name, public
):
    for params in visibility_filters(newsroom["now"]):
        response = consumer.get(reverse(name), params)
        assert set(slugs(response)) == public, params
        assert_nothing_hidden(response)


@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
def test_filters_that_only_hidden_items_match_find_nothing(consumer, newsroom, name):
    response = consumer.get(reverse(name), {"tag_kind": "person"})
    assert results(response) == []
    assert_nothing_hidden(response)


@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
@pytest.mark.parametrize("tags", ["embargoed", "harbour,embargoed"])
def test_a_tag_only_hidden_items_carry_looks_like_an_unknown_tag(
    consumer, newsroom, name, tags
):
    hidden = consumer.get(reverse(name), {"tag": tags})
    unknown = consumer.get(reverse(name), {"tag": tags.replace("embargoed", "nope")})
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["error"]["fields"]["tag"] == [
        message.replace("nope", "embargoed")
        for message in unknown.json()["error"]["fields"]["tag"]
    ]


@pytest.mark.parametrize("state", HIDDEN_STATES)
@pytest.mark.parametrize("kind", ["article", "headline"])
def test_hidden_item_detail_is_not_found_never_forbidden(
    consumer, newsroom, kind, state
):
    slug = f"{state}-story" if kind == "article" else f"{state}-headline"
    response = consumer.get(reverse(f"api:{kind}-detail", args=[slug]))
    error = assert_error(response, 404)
    assert error["code"] == "not_found"


def test_story_lists_only_its_public_headlines(consumer, newsroom):
    response = consumer.get(reverse("api:article-detail", args=["public-story"]))
    assert [h["slug"] for h in response.json()["headlines"]] == ["public-headline"]
    assert_nothing_hidden(response)


def test_public_headline_does_not_reveal_its_hidden_story(consumer, newsroom):
    detail = consumer.get(reverse("api:headline-detail", args=["orphan-headline"]))
    assert detail.json()["article"] is None
    assert_nothing_hidden(detail)

    listing = consumer.get(reverse("api:headline-list"))
    [orphan] = [h for h in results(listing) if h["slug"] == "orphan-headline"]
    assert orphan["article"] is None
    assert_nothing_hidden(listing)


def test_tags_count_only_public_items_and_hide_tags_only_hidden_items_carry(
    consumer, newsroom
):
    response = consumer.get(reverse("api:tag-list"))
    tags = {tag["slug"]: tag for tag in results(response)}
    assert set(tags) == {"harbour"}
    assert tags["harbour"]["article_count"] == 1
    assert tags["harbour"]["headline_count"] == 2
    assert_nothing_hidden(response)

    detail = consumer.get(reverse("api:tag-detail", args=["harbour"])).json()
    assert (detail["article_count"], detail["headline_count"]) == (1, 2)
    assert_error(consumer.get(reverse("api:tag-detail", args=["embargoed"])), 404)


def test_scheduled_story_appears_once_its_time_has_come(api, newsroom):
    scheduled = newsroom["hidden_stories"]["scheduled"]
    set_times(scheduled, published_at=timezone.now() - timedelta(seconds=1))
    assert "scheduled-story" in slugs(api.get(reverse("api:article-list")))
    detail = api.get(reverse("api:article-detail", args=["scheduled-story"]))
    assert detail.status_code == 200


# Filters.


@pytest.fixture
def tagged(make_article, make_headline, make_tag):
    china = make_tag(name="China", slug="china", kind=TagKind.PLACE)
    japan = make_tag(name="Japan", slug="japan", kind=TagKind.PLACE)
    trade = make_tag(name="Trade", slug="trade", kind=TagKind.TOPIC)
    make_article(slug="china-story", tags=[china, trade], featured=True)
    make_article(slug="japan-story", tags=[japan])
    make_article(slug="both-story", tags=[china, japan])
    make_article(slug="untagged-story")
    make_headline(slug="china-headline", tags=[china])
    make_headline(slug="trade-headline", tags=[trade])


@pytest.mark.parametrize(
    "name, params, expected",
    [
        ("api:article-list", {"tag": "japan"}, {"japan-story", "both-story"}),
        (
            "api:article-list",
            {"tag": "china,japan"},
            {"china-story", "japan-story", "both-story"},
        ),
        ("api:article-list", {"tag_kind": "topic"}, {"china-story"}),
        (
            "api:article-list",
            {"tag_kind": "place"},
            {"china-story", "japan-story", "both-story"},
        ),
        ("api:article-list", {"featured": "true"}, {"china-story"}),
        (
            "api:article-list",
            {"featured": "false"},
            {"japan-story", "both-story", "untagged-story"},
        ),
        ("api:headline-list", {"tag": "china"}, {"china-headline"}),
        (
            "api:headline-list",
            {"tag": "china,trade"},
            {"china-headline", "trade-headline"},
        ),
        ("api:headline-list", {"tag_kind": "topic"}, {"trade-headline"}),
    ],
)
def test_tag_and_featured_filters_find_the_matching_items(
    api, tagged, name, params, expected
):
    found = slugs(api.get(reverse(name), params))
    assert set(found) == expected
    assert len(found) == len(expected)  # a story with both tags comes once


@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
def test_unknown_tag_is_a_400_naming_tag(api, tagged, name):
    error = assert_error(api.get(reverse(name), {"tag": "china,atlantis"}), 400, "tag")
    assert "atlantis" in " ".join(error["fields"]["tag"])


@pytest.mark.parametrize(
    "name, params",
    [
        ("api:article-list", {"tag_kind": "planet"}),
        ("api:headline-list", {"tag_kind": "planet"}),
        ("api:tag-list", {"kind": "planet"}),
    ],
)
def test_unknown_tag_kind_is_a_400_naming_it(api, tagged, name, params):
    [parameter] = params
    assert_error(api.get(reverse(name), params), 400, parameter)


def test_tags_filter_by_kind(api, tagged):
    assert slugs(api.get(reverse("api:tag-list"), {"kind": "place"})) == [
        "china",
        "japan",
    ]


@pytest.fixture
def timed_stories(make_article, settings):
    settings.TIME_ZONE = "UTC"
    noon = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    for slug, hours in (("morning", -1), ("noon", 0), ("afternoon", 1)):
        story = make_article(slug=slug, published_at=noon + timedelta(hours=hours))
        set_times(story, updated_at=noon + timedelta(hours=hours, minutes=-30))
    return noon


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01T12:00:00Z",
        "2025-06-01T14:00:00+02:00",
        "2025-06-01T07:00:00-05:00",
        "2025-06-01T12:00:00",  # no offset: the site's time zone
    ],
)
@pytest.mark.parametrize(
    "parameter, expected",
    [
        ("published_after", {"noon", "afternoon"}),
        ("published_before", {"morning"}),
        ("updated_since", {"afternoon"}),
    ],
)
def test_date_filters_take_iso_8601_with_or_without_offset(
    api, timed_stories, parameter, expected, value
):
    found = slugs(api.get(reverse("api:article-list"), {parameter: value}))
    assert set(found) == expected


@pytest.mark.parametrize(
    "parameter", ["published_after", "published_before", "updated_since"]
)
@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
def test_invalid_date_is_a_400_naming_the_parameter(api, name, parameter):
    response = api.get(reverse(name), {parameter: "last tuesday"})
    assert_error(response, 400, parameter)


def test_search_finds_stories_and_headlines_by_word(api, make_article, make_headline):
    make_article(slug="volcano", headline="Volcano erupts near the coast")
    make_article(slug="budget", headline="Budget passes", body="Taxes rise.")
    make_headline(slug="volcano-headline", text="Volcano ash grounds flights")
    make_headline(slug="budget-headline", text="Budget vote tonight")

    assert slugs(api.get(reverse("api:article-list"), {"q": "volcano"})) == ["volcano"]
    assert slugs(api.get(reverse("api:headline-list"), {"q": "volcano"})) == [
        "volcano-headline"
    ]
    assert slugs(api.get(reverse("api:article-list"), {"q": "taxes"})) == ["budget"]


@pytest.fixture
def ordered(make_article, make_headline):
    """Three items whose publication and update orders differ."""
    now = timezone.now()
    times = {"a": (3, 1), "b": (2, 3), "c": (1, 2)}  # hours ago: published, updated
    for key, (published, updated) in times.items():
        for item in (
            make_article(slug=f"story-{key}"),
            make_headline(slug=f"headline-{key}"),
        ):
            set_times(
                item,
                published_at=now - timedelta(hours=published),
                updated_at=now - timedelta(hours=updated),
            )


@pytest.mark.parametrize("kind", ["article", "headline"])
@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("published_at", "abc"),
        ("-published_at", "cba"),
        ("updated_at", "bca"),
        ("-updated_at", "acb"),
        (None, "cba"),  # newest first by default
    ],
)
def test_ordering_by_publication_or_update_time(api, ordered, kind, ordering, expected):
    params = {"ordering": ordering} if ordering else {}
    prefix = "story" if kind == "article" else "headline"
    found = slugs(api.get(reverse(f"api:{kind}-list"), params))
    assert found == [f"{prefix}-{key}" for key in expected]


@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
@pytest.mark.parametrize("ordering", ["headline", "-id", "published_at,bogus"])
def test_unknown_ordering_is_a_400_naming_ordering(api, make_article, name, ordering):
    make_article()
    assert_error(api.get(reverse(name), {"ordering": ordering}), 400, "ordering")


GARBAGE = ["", " ", "%", "\u2603", "'; DROP TABLE x; --", "9" * 400, "\x00", "a,,b"]


@pytest.mark.parametrize(
    "parameter",
    [
        "tag",
        "tag_kind",
        "featured",
        "published_after",
        "published_before",
        "updated_since",
        "q",
        "ordering",
        "page_size",
        "cursor",
        "kind",
    ],
)
def test_odd_parameter_values_never_cause_a_server_error(api, newsroom, parameter):
    for name in ("api:article-list", "api:headline-list", "api:tag-list"):
        for value in GARBAGE:
            response = api.get(reverse(name), {parameter: value})
            assert response.status_code in (200, 400), (name, value, response)
            if response.status_code == 400:
                assert_error(response, 400, parameter)
            else:
                assert_nothing_hidden(response)


@pytest.mark.parametrize("value", ["maybe", "1", "yes"])
def test_invalid_featured_value_is_a_400_naming_featured(api, make_article, value):
    make_article(featured=True)
    make_article(featured=False)
    assert_error(
        api.get(reverse("api:article-list"), {"featured": value}), 400, "featured"
    )


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
)
def test_out_of_range_date_is_not_a_server_error(api, make_article, value):
    make_article()
    api.raise_request_exception = False
    response = api.get(reverse("api:article-list"), {"published_after": value})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("name", ["api:article-detail", "api:tag-detail"])
def test_unknown_slug_is_a_json_404(api, name):
    assert_error(api.get(reverse(name, args=["no-such-thing"])), 404)


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-resource/", "/api/v1/articles/a/b/c/", "/api/v1/x"]
)
def test_unknown_address_under_the_api_is_a_json_404(api, path):
    error = assert_error(api.get(path), 404)
    assert error["code"] == "not_found"


# Cursor pagination.


@pytest.fixture
def seven_stories(make_article):
    now = timezone.now()
    return [
        make_article(slug=f"story-{n}", published_at=now - timedelta(hours=n))
        for n in range(1, 8)
    ]


def walk(client, url, params=None, between_pages=None) -> list[list[str]]:
    """Follow ``next`` links to the end; return the slugs of each page."""
    pages = []
    response = client.get(url, params or {})
    while True:
        pages.append(slugs(response))
        link = response.json()["next"]
        if link is None:
            return pages
        if between_pages:
            between_pages(len(pages))
        response = client.get(link)


def test_next_links_walk_every_story_once_in_order(api, seven_stories):
    pages = walk(api, reverse("api:article-list"), {"page_size": 3})
    assert [len(page) for page in pages] == [3, 3, 1]
    assert sum(pages, []) == [story.slug for story in seven_stories]


def test_new_stories_do_not_shift_later_pages(api, seven_stories, make_article):
    def publish_breaking_news(page_number):
        for n in range(3):
            make_article(
                slug=f"breaking-{page_number}-{n}", published_at=timezone.now()
            )

    pages = walk(
        api,
        reverse("api:article-list"),
        {"page_size": 3},
        between_pages=publish_breaking_news,
    )
    assert sum(pages, []) == [story.slug for story in seven_stories]


def test_syncing_by_update_time_sees_each_story_once_and_new_ones_last(
    api, seven_stories, make_article
):
    now = timezone.now()
    for n, story in enumerate(seven_stories):
        set_times(story, updated_at=now - timedelta(hours=10 - n))
    added = []

    def publish(page_number):
        added.append(make_article(slug=f"new-{page_number}").slug)

    pages = walk(
        api,
        reverse("api:article-list"),
        {"page_size": 3, "ordering": "updated_at"},
        between_pages=publish,
    )
    seen = sum(pages, [])
    assert seen == [story.slug for story in seven_stories] + added
    assert len(seen) == len(set(seen))


def test_previous_link_returns_to_the_earlier_page(api, seven_stories):
    first = api.get(reverse("api:article-list"), {"page_size": 3})
    second = api.get(first.json()["next"])
    assert first.json()["previous"] is None
    assert slugs(api.get(second.json()["previous"])) == slugs(first)


def test_page_size_is_honoured(api, seven_stories):
    assert len(results(api.get(reverse("api:article-list"), {"page_size": 2}))) == 2
    assert len(results(api.get(reverse("api:article-list")))) == 7  # default 20


@pytest.mark.parametrize("kind", ["article", "headline", "tag"])
def test_page_size_is_capped_at_100(api, kind):
    populate(articles=101, headlines=101, tags=101, tags_each=1)
    page = results(api.get(reverse(f"api:{kind}-list"), {"page_size": 1000}))
    assert len(page) == 100


@pytest.mark.parametrize("name", ["api:article-list", "api:headline-list"])
@pytest.mark.parametrize(
    "cursor",
    [
        "bogus",
        base64.b64encode(b"o=first&p=1").decode(),
        base64.b64encode(b"r=maybe").decode(),
    ],
)
def test_invalid_cursor_is_a_400_naming_cursor(api, seven_stories, name, cursor):
    assert_error(api.get(reverse(name), {"cursor": cursor}), 400, "cursor")


def test_tampered_cursor_is_a_400_naming_cursor(api, seven_stories):
    tampered = base64.b64encode(b"p=yesterday&o=0").decode()
    api.raise_request_exception = False
    response = api.get(reverse("api:article-list"), {"cursor": tampered})
    assert_error(response, 400, "cursor")


# Conditional requests and caching.


@pytest.fixture
def settled(make_article, make_headline, make_tag):
    """A story, a headline and a tag, last changed two hours ago."""
    topic = make_tag(slug="weather", name="Weather")
    story = make_article(slug="storm", tags=[topic])
    headline = make_headline(slug="storm-headline", tags=[topic], article=story)
    earlier = timezone.now() - timedelta(hours=2)
    Article.objects.update(updated_at=earlier, published_at=earlier)
    Headline.objects.update(updated_at=earlier, published_at=earlier)
    Tag.objects.update(updated_at=earlier)
    story.refresh_from_db()
    headline.refresh_from_db()
    topic.refresh_from_db()
    return {"story": story, "headline": headline, "tag": topic}


LISTS_AND_DETAILS = [
    ("api:article-list", None),
    ("api:article-detail", "storm"),
    ("api:headline-list", None),
    ("api:headline-detail", "storm-headline"),
    ("api:tag-list", None),
    ("api:tag-detail", "weather"),
]


def url_for(name, slug=None):
    return reverse(name, args=[slug] if slug else None)


@pytest.mark.parametrize(
    "name, slug", [*LISTS_AND_DETAILS, ("api:root", None), ("api:changes", None)]
)
def test_every_get_has_an_etag_and_answers_304_to_if_none_match(
    api, settled, name, slug
):
    url = url_for(name, slug)
    response = api.get(url)
    assert response.status_code == 200
    etag = response["ETag"]
    assert etag

    again = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert api.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


@pytest.mark.parametrize("name, slug", LISTS_AND_DETAILS)
def test_lists_and_details_answer_304_to_if_modified_since(api, settled, name, slug):
    url = url_for(name, slug)
    last_modified = api.get(url)["Last-Modified"]
    assert last_modified

    again = api.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert again.status_code == 304


def test_last_modified_is_the_time_of_the_latest_change(api, settled):
    response = api.get(reverse("api:article-detail", args=["storm"]))
    changed = settled["story"].updated_at.replace(microsecond=0)
    assert response["Last-Modified"] == changed.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize("name", ["api:article-list", "api:article-detail"])
def test_editing_a_story_makes_the_story_fresh_again(api, settled, name):
    url = url_for(name, "storm" if name.endswith("detail") else None)
    first = api.get(url)

    story = settled["story"]
    story.headline = "Storm weakens"
    story.save()

    for headers in (
        {"HTTP_IF_NONE_MATCH": first["ETag"]},
        {"HTTP_IF_MODIFIED_SINCE": first["Last-Modified"]},
    ):
        response = api.get(url, **headers)
        assert response.status_code == 200, headers
        assert b"Storm weakens" in response.content


def test_new_story_makes_the_list_fresh_again(api, settled, make_article):
    first = api.get(reverse("api:article-list"))
    make_article(slug="new-story")
    response = api.get(
        reverse("api:article-list"), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )
    assert response.status_code == 200
    assert "new-story" in slugs(response)


def test_renaming_a_tag_makes_the_story_list_fresh_again(api, settled):
    first = api.get(reverse("api:article-list"))
    topic = settled["tag"]
    topic.name = "Severe weather"
    topic.save()

    response = api.get(
        reverse("api:article-list"), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]
    )
    assert response.status_code == 200
    assert b"Severe weather" in response.content


def test_publishing_the_linked_story_makes_the_headline_fresh_again(
    api, make_article, make_headline
):
    story = make_article(slug="storm", status=Status.DRAFT)
    make_headline(slug="storm-headline", article=story)
    earlier = timezone.now() - timedelta(hours=2)
    Article.objects.update(updated_at=earlier)
    Headline.objects.update(updated_at=earlier, published_at=earlier)
    url = reverse("api:headline-detail", args=["storm-headline"])
    first = api.get(url)
    assert first.json()["article"] is None

    story.refresh_from_db()
    story.publish(at=earlier)

    response = api.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert response.status_code == 200
    assert response.json()["article"]["slug"] == "storm"


@pytest.mark.parametrize("name, slug", LISTS_AND_DETAILS)
def test_anonymous_responses_may_be_cached_publicly(api, settled, name, slug):
    cache_control = api.get(url_for(name, slug))["Cache-Control"]
    assert "public" in cache_control
    max_age = django_settings.NEWSROOM_CACHE_MAX_AGE
    assert f"max-age={max_age}" in cache_control


@pytest.mark.parametrize("name, slug", LISTS_AND_DETAILS)
def test_signed_in_responses_are_private(api, settled, reader, name, slug):
    api.force_authenticate(reader)
    cache_control = api.get(url_for(name, slug))["Cache-Control"]
    assert "private" in cache_control
    assert "public" not in cache_control


# Documentation.


@pytest.fixture
def schema(api):
    response = api.get(reverse("api:schema"))
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_schema_is_also_served_as_json(api):
    response = api.get(
        reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    validate(response.json())


@pytest.mark.parametrize(
    "path, parameters",
    [
        (
            "/api/v1/articles/",
            {
                "tag",
                "tag_kind",
                "featured",
                "published_after",
                "published_before",
                "updated_since",
                "q",
                "ordering",
                "page_size",
                "cursor",
            },
        ),
        (
            "/api/v1/headlines/",
            {
                "tag",
                "tag_kind",
                "published_after",
                "published_before",
                "updated_since",
                "q",
                "ordering",
                "page_size",
                "cursor",
            },
        ),
        ("/api/v1/tags/", {"kind", "page_size", "cursor"}),
        ("/api/v1/changes/", {"since", "limit"}),
    ],
)
def test_schema_documents_every_query_parameter(schema, path, parameters):
    documented = {
        parameter["name"]: parameter
        for parameter in schema["paths"][path]["get"]["parameters"]
        if parameter["in"] == "query"
    }
    assert parameters <= set(documented)
    for name in parameters - {"cursor"}:
        assert documented[name].get("description"), name


def test_schema_documents_the_ordering_choices(schema):
    for path in ("/api/v1/articles/", "/api/v1/headlines/"):
        [ordering] = [
            p
            for p in schema["paths"][path]["get"]["parameters"]
            if p["name"] == "ordering"
        ]
        assert set(ordering["schema"]["enum"]) == {
            "published_at",
            "-published_at",
            "updated_at",
            "-updated_at",
        }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles/",
        "/api/v1/articles/{slug}/",
        "/api/v1/headlines/",
        "/api/v1/headlines/{slug}/",
        "/api/v1/tags/",
        "/api/v1/tags/{slug}/",
        "/api/v1/changes/",
    ],
)
def test_schema_documents_the_error_responses(schema, path):
    responses = schema["paths"][path]["get"]["responses"]
    assert {"200", "400", "404", "429"} <= set(responses)
    for status in ("400", "404", "429"):
        ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    error = schema["components"]["schemas"]["Error"]
    assert "error" in error["properties"]


def test_schema_describes_errors_the_way_the_api_sends_them(api, schema):
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert {"status", "code", "message"} <= set(detail["required"])
    body = api.get(reverse("api:article-list"), {"ordering": "bogus"}).json()
    assert set(body["error"]) <= set(detail["properties"])


def assert_matches_schema(schema: dict, component: str, data) -> None:
    validator = OAS31Validator(
        {"$ref": f"#/components/schemas/{component}", **schema},
        format_checker=oas31_format_checker,
    )
    validator.validate(data)


@pytest.mark.parametrize(
    "url, component",
    [
        ("/api/v1/articles/?page_size=100", "PaginatedArticleList"),
        ("/api/v1/articles/public-story/", "Article"),
        ("/api/v1/headlines/?q=sighted", "PaginatedHeadlineList"),
        ("/api/v1/headlines/public-headline/", "Headline"),
        ("/api/v1/tags/", "PaginatedTagList"),
        ("/api/v1/tags/harbour/", "Tag"),
        ("/api/v1/changes/", "ChangeFeed"),
        ("/api/v1/articles/?tag=atlantis", "Error"),
        ("/api/v1/articles/draft-story/", "Error"),
    ],
)
def test_responses_match_their_schema(api, schema, newsroom, url, component):
    assert_matches_schema(schema, component, api.get(url).json())


def test_headline_without_a_public_story_matches_the_schema(api, schema, newsroom):
    data = api.get(reverse("api:headline-detail", args=["orphan-headline"])).json()
    assert data["article"] is None
    assert_matches_schema(schema, "Headline", data)


def test_docs_page_works_offline_from_our_static_files(api):
    response = api.get(reverse("api:docs"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html) + re.findall(
        r'<link[^>]*\shref="([^"]+)"', html
    )
    assert any(asset.endswith(".js") for asset in assets)
    assert any(".css" in asset for asset in assets)
    # Swagger UI's start-up script comes from the docs' own address (so that
    # the Content-Security-Policy needs no inline script); the rest is static.
    start_up = [asset for asset in assets if asset.startswith(reverse("api:docs"))]
    assert len(start_up) == 1
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), asset
        assert asset in start_up or asset.startswith("/static/"), asset
        assert api.get(asset).status_code == 200, asset
    assert reverse("api:schema") in api.get(start_up[0]).content.decode()


# Abuse limits.


@pytest.fixture
def three_a_minute(settings, monkeypatch):
    """Let anonymous clients make three requests a minute."""
    rates = {"anon": "3/minute"}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    api_settings.reload()
    # The throttle class read the rates once, when it was imported.
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)


def test_anonymous_clients_over_the_rate_get_429_with_retry_after(
    api, make_article, three_a_minute
):
    make_article()
    url = reverse("api:article-list")
    for _ in range(3):
        assert api.get(url).status_code == 200

    response = api.get(url)
    error = assert_error(response, 429)
    assert error["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    # The limit is per client, across endpoints.
    assert api.get(reverse("api:tag-list")).status_code == 429


def test_signed_in_clients_are_not_held_to_the_anonymous_rate(
    api, reader, make_article, three_a_minute
):
    api.force_authenticate(reader)
    for _ in range(5):
        assert api.get(reverse("api:article-list")).status_code == 200


def test_any_origin_may_read_the_api(api, make_article):
    make_article()
    response = api.get(
        reverse("api:article-list"), HTTP_ORIGIN="https://elsewhere.example"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_cross_origin_preflight_does_not_allow_writes(api):
    response = api.options(
        reverse("api:article-list"),
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    allowed = {
        method.strip()
        for method in response.get("Access-Control-Allow-Methods", "").split(",")
    }
    assert "GET" in allowed
    assert not allowed & {"POST", "PUT", "PATCH", "DELETE"}


def test_cross_origin_clients_may_revalidate(api):
    response = api.options(
        reverse("api:article-list"),
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match,if-modified-since",
    )
    allowed = {
        header.strip().lower()
        for header in response.get("Access-Control-Allow-Headers", "").split(",")
    }
    assert {"if-none-match", "if-modified-since"} <= allowed


# Speed: a fixed number of queries whatever the amount of content.


def populate(*, articles: int, headlines: int, tags: int, tags_each: int) -> None:
    """Add public stories and headlines (each with ``tags_each`` tags) in bulk."""
    now = timezone.now()
    start = Tag.objects.count()
    new_tags = Tag.objects.bulk_create(
        Tag(name=f"Bulk tag {n}", slug=f"bulk-tag-{n}", kind=TagKind.TOPIC)
        for n in range(start, start + tags)
    )
    start = Article.objects.count()
    stories = Article.objects.bulk_create(
        Article(
            headline=f"Bulk story {n}",
            slug=f"bulk-story-{n}",
            body=f"Body {n}.",
            body_html=f"<p>Body {n}.</p>",
            status=Status.PUBLISHED,
            published_at=now - timedelta(minutes=n + 1),
        )
        for n in range(start, start + articles)
    )
    start = Headline.objects.count()
    items = Headline.objects.bulk_create(
        Headline(
            text=f"Bulk headline {n}",
            slug=f"bulk-headline-{n}",
            status=Status.PUBLISHED,
            published_at=now - timedelta(minutes=n + 1),
            article=stories[n % len(stories)] if stories else None,
        )
        for n in range(start, start + headlines)
    )
    for model, rows in ((Article, stories), (Headline, items)):
        through = model.tags.through
        field = f"{model._meta.model_name}_id"
        through.objects.bulk_create(
            through(**{field: row.pk, "tag_id": new_tags[(i + k) % len(new_tags)].pk})
            for i, row in enumerate(rows)
            for k in range(tags_each)
        )


ENDPOINTS = [
    ("api:article-list", None),
    ("api:article-detail", "bulk-story-0"),
    ("api:headline-list", None),
    ("api:headline-detail", "bulk-headline-0"),
    ("api:tag-list", None),
    ("api:tag-detail", "bulk-tag-0"),
]


@pytest.mark.parametrize("name, slug", ENDPOINTS)
def test_each_call_needs_at_most_five_queries_however_much_content(
    api, db, django_assert_max_num_queries, name, slug
):
    url = url_for(name, slug)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url, {"page_size": 100} if slug is None else {})
        assert response.status_code == 200
        return len(captured)

    populate(articles=3, headlines=3, tags=3, tags_each=2)
    few = queries()
    populate(articles=97, headlines=97, tags=47, tags_each=5)
    # The story and headline asked for get many tags; every headline points
    # to that story.
    story = Article.objects.get(slug="bulk-story-0")
    story.tags.add(*Tag.objects.all()[:20])
    Headline.objects.get(slug="bulk-headline-0").tags.add(*Tag.objects.all()[:20])
    Headline.objects.update(article=story)
    with django_assert_max_num_queries(5):
        many = queries()
    if slug is None:
        listed = {"api:article-list": 100, "api:headline-list": 100}.get(name, 50)
        assert len(results(api.get(url, {"page_size": 100}))) == listed
    assert many == few
