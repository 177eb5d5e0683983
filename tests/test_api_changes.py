"""The change feed: what a mirror must do to stay an exact copy of the public items."""

import base64
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from articles.changes import SETTLE, Position
from articles.models import Article, Headline, Status, Withdrawal


@pytest.fixture
def api_client():
    return APIClient()


def feed(client, *, since: str | None = None, limit: int | None = None) -> dict:
    """Ask the change feed once, as a consumer would, and return its JSON."""
    params = {}
    if since is not None:
        params["since"] = since
    if limit is not None:
        params["limit"] = limit
    response = client.get(reverse("api:changes"), params)
    assert response.status_code == 200, response.content
    return response.json()


def moment(change: dict) -> datetime:
    return datetime.fromisoformat(change["changed_at"])


def summary(changes: list[dict]) -> list[tuple[str, str, str]]:
    return [(change["type"], change["slug"], change["action"]) for change in changes]


class Mirror:
    """A consumer's copy of the public items, kept with the change feed alone."""

    def __init__(self, client, *, limit: int = 2):
        self.client = client
        self.limit = limit
        self.items: dict[tuple[str, int], str] = {}
        self.cursor: str | None = None
        self.pages = 0

    def step(self) -> dict:
        """Fetch and apply one page of changes; return the page."""
        page = feed(self.client, since=self.cursor, limit=self.limit)
        assert len(page["changes"]) <= self.limit
        self.pages += 1
        for change in page["changes"]:
            key = (change["type"], change["id"])
            if change["action"] == "withdrawn":
                self.items.pop(key, None)
            else:
                self.items[key] = change["slug"]
        self.cursor = page["next"]
        return page

    def sync(self) -> list[dict]:
        """Apply every change since the last sync, page by page; return them."""
        seen = []
        while True:
            page = self.step()
            seen.extend(page["changes"])
            if not page["has_more"]:
                return seen


def public_items() -> dict[tuple[str, int], str]:
    """What readers may see now, keyed as the feed keys it."""
    return {
        **{
            ("article", pk): slug
            for pk, slug in Article.objects.published().values_list("pk", "slug")
        },
        **{
            ("headline", pk): slug
            for pk, slug in Headline.objects.published().values_list("pk", "slug")
        },
    }


def age(item, *, at: datetime) -> None:
    """Move an item's edit (and, if public, publication) time back to ``at``."""
    fields = {"updated_at": at, "created_at": at}
    if item.is_public:
        fields["published_at"] = at
    type(item).objects.filter(pk=item.pk).update(**fields)


def fresh(item):
    """Read an item again, as an editor opening it after the clock moved."""
    return type(item).objects.get(pk=item.pk)


def age_everything(*, hours: int = 48) -> None:
    """
    Make every item and withdrawal so old that a sync sees each change once
    (the feed repeats changes younger than its settle window).
    """
    then = timezone.now() - timedelta(hours=hours)
    for model in (Article, Headline):
        model.objects.update(updated_at=then, created_at=then)
        model.objects.published().update(published_at=then)
    Withdrawal.objects.update(withdrawn_at=then)


@pytest.fixture
def hidden(make_article, make_headline):
    """Items readers never saw: drafts, in review, scheduled, unpublished."""
    later = timezone.now() + timedelta(days=1)
    return [
        make_article(slug="secret-draft", status=Status.DRAFT),
        make_article(slug="secret-review", status=Status.REVIEW),
        make_article(slug="secret-embargo", published_at=later),
        make_article(
            slug="secret-unpublished",
            status=Status.UNPUBLISHED,
            published_at=timezone.now() - timedelta(days=2),
        ),
        make_headline(slug="secret-draft-line", status=Status.DRAFT),
        make_headline(slug="secret-review-line", status=Status.REVIEW),
        make_headline(slug="secret-embargo-line", published_at=later),
        make_headline(
            slug="secret-unpublished-line",
            status=Status.UNPUBLISHED,
            published_at=timezone.now() - timedelta(days=2),
        ),
    ]


# The first sync.


def test_first_sync_lists_every_public_item_as_created_in_change_order(
    api_client, make_article, make_headline, hidden
):
    start = timezone.now() - timedelta(days=3)
    public = [
        make_article(slug="oldest-story"),
        make_headline(slug="old-line"),
        make_article(slug="middle-story"),
        make_headline(slug="newer-line"),
        make_article(slug="newest-story"),
    ]
    for minutes, item in enumerate(public):
        age(item, at=start + timedelta(minutes=minutes))
    # A later edit moves an item to the end: the order is change time.
    Article.objects.filter(slug="oldest-story").update(
        updated_at=start + timedelta(hours=1)
    )

    response = api_client.get(reverse("api:changes"))

    assert response.status_code == 200
    page = response.json()
    assert summary(page["changes"]) == [
        ("headline", "old-line", "created"),
        ("article", "middle-story", "created"),
        ("headline", "newer-line", "created"),
        ("article", "newest-story", "created"),
        ("article", "oldest-story", "created"),
    ]
    assert [change["id"] for change in page["changes"]] == [
        public[1].pk,
        public[2].pk,
        public[3].pk,
        public[4].pk,
        public[0].pk,
    ]
    assert page["has_more"] is False
    assert "secret" not in response.content.decode()


def test_first_sync_of_an_empty_site_is_empty_with_a_cursor(api_client, hidden):
    page = feed(api_client)

    assert page["changes"] == []
    assert page["has_more"] is False
    assert page["next"]
    assert feed(api_client, since=page["next"])["changes"] == []


def test_first_sync_does_not_list_withdrawals_of_items_the_mirror_never_had(
    api_client, make_article, make_headline
):
    make_article(slug="still-out")
    make_article(slug="pulled-story").unpublish()
    make_headline(slug="pulled-line").unpublish()
    make_article(slug="deleted-story").delete()
    age_everything()

    page = feed(api_client)

    assert summary(page["changes"]) == [("article", "still-out", "created")]


# The next sync: exactly what changed.


def test_next_sync_reports_exactly_what_changed(
    api_client, make_article, make_headline, hidden
):
    soon = timezone.now() + timedelta(hours=1)
    edited = make_article(slug="edited")
    untouched = make_article(slug="untouched")
    unpublished = make_article(slug="unpublished")
    deleted = make_article(slug="deleted")
    to_draft = make_article(slug="back-to-draft")
    rescheduled = make_article(slug="rescheduled")
    due = make_article(slug="due", published_at=soon)
    bounced = make_article(slug="bounced")
    draft = make_article(slug="secret-deleted-draft", status=Status.DRAFT)
    edited_line = make_headline(slug="edited-line")
    pulled_line = make_headline(slug="pulled-line")
    deleted_line = make_headline(slug="deleted-line")
    make_headline(slug="untouched-line")
    age_everything()
    mirror = Mirror(api_client, limit=500)
    first = mirror.sync()
    assert {change["action"] for change in first} == {"created"}
    assert mirror.items == public_items()
    edited, deleted, to_draft, rescheduled, bounced, edited_line = map(
        fresh, [edited, deleted, to_draft, rescheduled, bounced, edited_line]
    )

    edited.headline = "Edited headline"
    edited.save()
    new = make_article(slug="new", published_at=timezone.now())
    unpublished.unpublish()
    deleted_id = deleted.pk
    deleted.delete()
    to_draft.status = Status.DRAFT
    to_draft.save()
    rescheduled.published_at = timezone.now() + timedelta(days=1)
    rescheduled.save()
    Article.objects.filter(pk=due.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    bounced.unpublish()
    bounced.publish()
    draft.delete()
    edited_line.text = "Edited line"
    edited_line.save()
    pulled_line.unpublish()
    deleted_line_id = deleted_line.pk
    deleted_line.delete()
    new_line = make_headline(slug="new-line", published_at=timezone.now())

    changes = mirror.sync()

    actions = {(change["type"], change["slug"]): change["action"] for change in changes}
    assert len(actions) == len(changes)  # each change once
    assert actions.pop(("article", "bounced")) in {"created", "updated"}
    assert actions == {
        ("article", "edited"): "updated",
        ("article", "new"): "created",
        ("article", "unpublished"): "withdrawn",
        ("article", "deleted"): "withdrawn",
        ("article", "back-to-draft"): "withdrawn",
        ("article", "rescheduled"): "withdrawn",
        ("article", "due"): "created",
        ("headline", "edited-line"): "updated",
        ("headline", "pulled-line"): "withdrawn",
        ("headline", "deleted-line"): "withdrawn",
        ("headline", "new-line"): "created",
    }
    ids = {(change["type"], change["slug"]): change["id"] for change in changes}
    assert ids[("article", "deleted")] == deleted_id
    assert ids[("headline", "deleted-line")] == deleted_line_id
    assert ids[("article", "new")] == new.pk
    assert ids[("headline", "new-line")] == new_line.pk
    assert ("article", untouched.pk) in mirror.items
    assert [moment(change) for change in changes] == sorted(map(moment, changes))
    assert "secret" not in str(first + changes)
    assert mirror.items == public_items()


def test_story_withdrawn_before_the_last_sync_and_republished_comes_back(
    api_client, make_article
):
    make_article(slug="steady")
    story = make_article(slug="comeback")
    story.unpublish()
    age_everything()
    mirror = Mirror(api_client)
    mirror.sync()
    assert ("article", story.pk) not in mirror.items

    fresh(story).publish()
    changes = mirror.sync()

    assert summary(changes) in (
        [("article", "comeback", "created")],
        [("article", "comeback", "updated")],
    )
    assert mirror.items == public_items()


def test_new_story_with_an_earlier_dateline_comes_as_created(api_client, make_article):
    make_article(slug="known")
    age_everything()
    mirror = Mirror(api_client)
    mirror.sync()

    make_article(
        slug="from-the-archive", published_at=timezone.now() - timedelta(days=30)
    )
    changes = mirror.sync()

    assert summary(changes) == [("article", "from-the-archive", "created")]


# Changes to what an item shows, made elsewhere.


def test_renamed_tag_is_reported_as_a_change_of_the_stories_that_carry_it(
    api_client, make_article, make_tag
):
    tag = make_tag(name="Harbour", slug="harbour")
    story = make_article(slug="tagged", tags=[tag])
    make_article(slug="untagged")
    age_everything()
    mirror = Mirror(api_client)
    mirror.sync()

    tag.name = "Harbour authority"
    tag.save()
    detail = api_client.get(reverse("api:article-detail", args=[story.slug])).json()
    assert detail["tags"][0]["name"] == "Harbour authority"

    assert summary(mirror.sync()) == [("article", "tagged", "updated")]


def test_headline_is_reported_when_its_story_is_withdrawn(
    api_client, make_article, make_headline
):
    story = make_article(slug="pulled")
    line = make_headline(slug="pointer", article=story)
    age_everything()
    mirror = Mirror(api_client)
    mirror.sync()

    fresh(story).unpublish()
    detail = api_client.get(reverse("api:headline-detail", args=[line.slug])).json()
    assert detail["article"] is None

    assert sorted(summary(mirror.sync())) == [
        ("article", "pulled", "withdrawn"),
        ("headline", "pointer", "updated"),
    ]


# A mirror kept by the feed alone.


def test_mirror_stays_exact_through_rounds_of_edits(
    api_client, make_article, make_headline, make_tag, hidden
):
    stories = [make_article() for _ in range(6)]
    lines = [make_headline(article=stories[0]) for _ in range(4)]
    scheduled = make_article(published_at=timezone.now() + timedelta(hours=2))
    draft = make_article(status=Status.DRAFT)
    age_everything()
    mirror = Mirror(api_client, limit=2)

    def round_is_exact():
        pages_before = mirror.pages
        mirror.sync()
        assert mirror.items == public_items()
        return mirror.pages - pages_before

    assert round_is_exact() >= 5  # ten items, two per page
    stories = [fresh(story) for story in stories]
    lines = [fresh(line) for line in lines]

    # Edits, additions and withdrawals of every kind.
    stories[0].body = "Corrected."
    stories[0].save()
    stories[1].unpublish()
    stories[2].delete()
    stories[3].status = Status.REVIEW
    stories[3].save()
    lines[0].unpublish()
    lines[1].delete()
    make_article(published_at=timezone.now())
    make_headline(published_at=timezone.now())
    assert round_is_exact() >= 2

    # Nothing changed: the mirror stays as it is.
    round_is_exact()

    # Coming back, going live, renaming, and a tag change that moves updated_at.
    stories[1].publish()
    stories[3].publish()
    Article.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    draft.publish()
    stories[4].slug = "renamed-story"
    stories[4].save()
    stories[5].tags.add(make_tag())
    lines[2].published_at = timezone.now() + timedelta(days=1)
    lines[2].save()
    round_is_exact()
    assert mirror.items[("article", stories[4].pk)] == "renamed-story"

    # Everything withdrawn, then everything back.
    for story in Article.objects.published():
        story.unpublish()
    for line in Headline.objects.published():
        line.delete()
    round_is_exact()
    assert not any(kind == "article" for kind, _ in mirror.items)
    for story in Article.objects.filter(status=Status.UNPUBLISHED):
        story.publish()
    round_is_exact()
    assert "secret-draft" not in mirror.items.values()


# Paging.


@pytest.fixture
def history(make_article, make_headline):
    """
    An old story, then twelve changes of all three kinds a minute apart (nine
    items created, three withdrawn), all long ago.
    """
    start = timezone.now() - timedelta(days=1)
    age(make_article(slug="first-ever"), at=start - timedelta(hours=1))
    items = []
    for number in range(12):
        make = make_article if number % 3 else make_headline
        items.append(make())
    for item in items[:3]:
        item.unpublish()
    for minutes, item in enumerate(items[3:]):
        age(item, at=start + timedelta(minutes=minutes))
    for minutes, withdrawal in enumerate(Withdrawal.objects.order_by("pk")):
        Withdrawal.objects.filter(pk=withdrawal.pk).update(
            withdrawn_at=start + timedelta(minutes=minutes, seconds=30)
        )
    return items


@pytest.mark.parametrize("limit", [1, 2, 4, 7])
def test_small_pages_give_every_change_once_in_order(api_client, history, limit):
    # A mirror that has seen the first story, and so every withdrawal since.
    seen_first = feed(api_client, limit=1)
    assert summary(seen_first["changes"]) == [("article", "first-ever", "created")]
    whole = feed(api_client, since=seen_first["next"], limit=500)
    assert len(whole["changes"]) == 12

    pages = []
    cursor = seen_first["next"]
    while True:
        page = feed(api_client, since=cursor, limit=limit)
        pages.append(page)
        cursor = page["next"]
        if not page["has_more"]:
            break

    paged = [change for page in pages for change in page["changes"]]
    assert paged == whole["changes"]
    assert all(len(page["changes"]) == limit for page in pages[:-1])
    assert [page["has_more"] for page in pages] == [True] * (len(pages) - 1) + [False]
    assert len(pages) == -(-12 // limit)
    assert [moment(change) for change in paged] == sorted(map(moment, paged))


def test_changes_at_the_same_instant_are_split_across_pages_without_loss(
    api_client, make_article, make_headline
):
    first = make_article(slug="first-ever")
    items = [make_article() for _ in range(3)] + [make_headline() for _ in range(3)]
    items[0].unpublish()
    deleted_id = items[3].pk
    items[3].delete()
    instant = timezone.now() - timedelta(hours=3)
    for model in (Article, Headline):
        model.objects.update(updated_at=instant, published_at=instant)
    Withdrawal.objects.update(withdrawn_at=instant)
    age(first, at=instant - timedelta(hours=1))
    mirror = Mirror(api_client, limit=1)
    mirror.step()  # the mirror has seen the first story
    mirror.limit = 2

    changes = mirror.sync()

    # Ties are broken by type, then id; withdrawals come last.
    assert [(change["type"], change["id"]) for change in changes] == [
        ("article", items[1].pk),
        ("article", items[2].pk),
        ("headline", items[4].pk),
        ("headline", items[5].pk),
        ("article", items[0].pk),
        ("headline", deleted_id),
    ]
    actions = [change["action"] for change in changes]
    assert "withdrawn" not in actions[:4]
    assert actions[4:] == ["withdrawn", "withdrawn"]
    assert mirror.pages == 1 + 3
    assert mirror.items == public_items()


def test_first_sync_in_small_pages_reports_every_item_as_created(
    api_client, make_article, make_headline
):
    start = timezone.now() - timedelta(days=1)
    corrected = make_article(slug="corrected-later")
    age(corrected, at=start)
    Article.objects.filter(pk=corrected.pk).update(
        updated_at=start + timedelta(hours=2)
    )
    age(make_article(slug="in-between"), at=start + timedelta(hours=1))
    for slug in ("twin-story", "twin-line"):
        make = make_article if slug.endswith("story") else make_headline
        age(make(slug=slug), at=start + timedelta(hours=3))
    mirror = Mirror(api_client, limit=1)

    changes = mirror.sync()

    assert summary(changes) == [
        ("article", "in-between", "created"),
        ("article", "corrected-later", "created"),
        ("article", "twin-story", "created"),
        ("headline", "twin-line", "created"),
    ]


def test_last_cursor_stays_behind_the_present_so_recent_changes_may_come_twice(
    api_client, make_article
):
    story = make_article(slug="fresh")
    age_everything()
    mirror = Mirror(api_client)
    mirror.sync()

    story = fresh(story)
    story.headline = "Fresh edit"
    story.save()
    before = timezone.now()
    first = mirror.sync()
    after = timezone.now()
    settled_at = Position.decode(mirror.cursor).at
    again = mirror.sync()

    assert summary(first) == [("article", "fresh", "updated")]
    assert before - SETTLE <= settled_at <= after - SETTLE
    assert SETTLE == timedelta(seconds=5)
    # Inside the settle window the change is sent again; applying it twice
    # leaves the mirror exact.
    assert summary(again) == [("article", "fresh", "updated")]
    assert mirror.items == public_items()
    # Once the change is older than the window it is not repeated.
    Article.objects.filter(pk=story.pk).update(
        updated_at=timezone.now() - timedelta(minutes=1)
    )
    assert mirror.sync() == []


# Parameters.


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def assert_error(response, status: int, field: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == "invalid"
    assert field in error["message"]
    assert list(error["fields"]) == [field]
    assert all(isinstance(message, str) for message in error["fields"][field])


@pytest.mark.parametrize(
    "since",
    [
        "garbage",
        "%%%",
        b64("not a cursor at all"),
        b64("junk|article|1"),
        b64("2026-01-01T00:00:00+00:00|article|one"),
        b64("2026-01-01T00:00:00+00:00|comment|1"),
        b64("2026-01-01T00:00:00|article|1"),  # a naive time
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
def test_since_that_the_api_did_not_give_out_is_a_400_naming_since(api_client, since):
    response = api_client.get(reverse("api:changes"), {"since": since})

    assert_error(response, 400, "since")


@pytest.mark.parametrize(
    "time", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_since_with_a_time_out_of_range_is_a_400(api_client, make_article, time):
    make_article()

    response = api_client.get(reverse("api:changes"), {"since": b64(f"{time}||0")})

    assert_error(response, 400, "since")


@pytest.mark.parametrize("limit", ["0", "-1", "501", "ten", "2.5", ""])
def test_limit_out_of_range_or_not_a_number_is_a_400_naming_limit(api_client, limit):
    response = api_client.get(reverse("api:changes"), {"limit": limit})

    assert_error(response, 400, "limit")


def test_limit_written_in_superscript_is_a_400(api_client):
    response = api_client.get(reverse("api:changes"), {"limit": "²"})

    assert_error(response, 400, "limit")


def test_limit_bounds_are_accepted(api_client, make_article):
    for _ in range(3):
        make_article()

    assert len(feed(api_client, limit=1)["changes"]) == 1
    assert len(feed(api_client, limit=500)["changes"]) == 3
    assert len(feed(api_client)["changes"]) == 3  # the default is 100


def test_bad_since_and_bad_limit_are_reported_together(api_client):
    response = api_client.get(reverse("api:changes"), {"since": "x", "limit": "0"})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"since", "limit"}


# What each change carries.


def test_api_url_is_absolute_for_live_items_and_null_for_withdrawn(
    api_client, make_article, make_headline
):
    gone = make_article(slug="gone")
    age_everything()
    synced = feed(api_client)
    fresh(gone).unpublish()
    story = make_article(slug="live-story")
    line = make_headline(slug="live-line")

    changes = {
        change["slug"]: change
        for change in feed(api_client, since=synced["next"])["changes"]
    }

    assert changes["live-story"]["api_url"] == "http://testserver" + reverse(
        "api:article-detail", args=["live-story"]
    )
    assert changes["live-line"]["api_url"] == "http://testserver" + reverse(
        "api:headline-detail", args=["live-line"]
    )
    assert changes["gone"]["api_url"] is None
    assert api_client.get(changes["live-story"]["api_url"]).json()["id"] == story.pk
    assert api_client.get(changes["live-line"]["api_url"]).json()["id"] == line.pk
    assert all(
        moment(change).tzinfo is not None for change in changes.values()
    )  # ISO 8601 with a time zone


@pytest.mark.parametrize("count", [2, 60])
def test_feed_takes_a_fixed_number_of_queries(
    api_client, make_article, make_headline, django_assert_max_num_queries, count
):
    synced = feed(api_client)
    for number in range(count):
        if number % 2:
            make_headline()
        else:
            make_article()
    Article.objects.first().unpublish()

    with django_assert_max_num_queries(1):
        page = feed(api_client, since=synced["next"], limit=500)

    assert len(page["changes"]) == count
