"""Secret preview links: one unpublished story, as it will look, for a while."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.urls import resolve, reverse
from django.utils import timezone

from articles.models import Article, Correction, Status
from articles.previews import preview_url

ROBOTS_META = re.compile(r'<meta name="robots" content="noindex, nofollow">')


@pytest.fixture
def draft(make_article):
    return make_article(
        headline="Council weighs a night-bus trial",
        slug="night-bus-trial",
        dek="Three routes would run until 4 a.m.",
        body="The trial would cost **£1.2m** a year.\n\nA vote is due in May.",
        status=Status.DRAFT,
    )


def signed_at(monkeypatch, seconds_ago: int, article: Article) -> str:
    """Return a preview link to ``article`` as if made ``seconds_ago``."""
    with monkeypatch.context() as patch:
        patch.setattr(
            signing.TimestampSigner,
            "timestamp",
            lambda self: signing.b62_encode(int(time.time()) - seconds_ago),
        )
        return preview_url(article)


def token_of(url: str) -> str:
    return url.removeprefix("/preview/").removesuffix("/")


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def test_draft_preview_shows_its_headline_and_body(client, draft):
    response = client.get(preview_url(draft))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Council weighs a night-bus trial" in page
    assert "Three routes would run until 4 a.m." in page
    assert "<strong>£1.2m</strong>" in page
    assert "articles/article_detail.html" in [t.name for t in response.templates]


def test_preview_is_kept_out_of_search_engines(client, draft):
    response = client.get(preview_url(draft))
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert ROBOTS_META.search(response.content.decode())


def test_preview_is_never_cached(client, draft):
    response = client.get(preview_url(draft))
    assert cache_directives(response) == {"private", "no-store"}


def test_preview_link_is_not_passed_on_to_other_sites(client, draft):
    response = client.get(preview_url(draft))
    assert response["Referrer-Policy"] == "no-referrer"


def test_preview_looks_exactly_like_the_page_once_published(
    client, make_article, make_headline, make_tag
):
    topic = make_tag(name="Transport")
    earlier = make_article(headline="Trams return to the high street", tags=[topic])
    make_article(headline="Unpublished sibling", status=Status.DRAFT, tags=[topic])
    story = make_article(
        headline="Night buses approved",
        body="Routes *N1* to *N3* start in June.",
        byline="A. Reporter",
        status=Status.REVIEW,
        published_at=timezone.now() - timedelta(minutes=10),
        tags=[topic],
    )
    make_headline(text="Night buses: vote passes", article=story)
    make_headline(text="Night buses: draft brief", article=story, status=Status.DRAFT)
    Correction.objects.create(article=story, text="The routes start in July.")

    preview = client.get(preview_url(story)).content.decode()
    Article.objects.filter(pk=story.pk).update(status=Status.PUBLISHED)
    public = client.get(story.get_absolute_url())

    assert public.status_code == 200
    assert ROBOTS_META.sub("", preview, count=1) == public.content.decode()
    # The same related stories and linked headlines as the public page.
    assert earlier.get_absolute_url() in preview
    assert "Night buses: vote passes" in preview
    assert "Unpublished sibling" not in preview
    assert "draft brief" not in preview
    assert "The routes start in July." in preview


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Status.DRAFT},
        {"status": Status.REVIEW},
        {"status": Status.PUBLISHED, "published_at": timedelta(days=2)},
        {"status": Status.UNPUBLISHED, "published_at": -timedelta(days=2)},
    ],
    ids=["draft", "in-review", "scheduled", "withdrawn"],
)
def test_any_story_not_yet_public_can_be_previewed(client, make_article, fields):
    if "published_at" in fields:
        fields = {**fields, "published_at": timezone.now() + fields["published_at"]}
    story = make_article(headline="Not for readers yet", **fields)
    response = client.get(preview_url(story))
    assert response.status_code == 200
    assert b"Not for readers yet" in response.content


def test_draft_preview_is_dated_when_it_would_go_out_and_saves_nothing(
    client, make_article
):
    embargo = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    story = make_article(status=Status.DRAFT, embargo_until=embargo)
    response = client.get(preview_url(story))
    assert f'datetime="{embargo.isoformat()}"' in response.content.decode()
    story.refresh_from_db()
    assert story.published_at is None
    assert story.status == Status.DRAFT


def test_public_page_of_a_previewed_draft_stays_not_found(client, draft):
    assert client.get(preview_url(draft)).status_code == 200
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_preview_of_a_public_story_leads_to_its_page(client, make_article):
    story = make_article()
    response = client.get(preview_url(story))
    assert response.status_code == 302
    assert response["Location"] == story.get_absolute_url()
    assert cache_directives(response) == {"private", "no-store"}


def test_link_follows_the_story_through_edits(client, draft):
    url = preview_url(draft)
    draft.headline = "Council approves a night-bus trial"
    draft.save()
    assert b"Council approves a night-bus trial" in client.get(url).content


def test_another_storys_pk_cannot_be_reached_by_editing_the_token(
    client, draft, make_article
):
    other = make_article(headline="Someone else's scoop", status=Status.DRAFT)
    token = token_of(preview_url(draft))
    edited = token.replace(f"{draft.pk}:", f"{other.pk}:", 1)
    assert edited != token
    response = client.get(reverse("preview", args=[edited]))
    assert response.status_code == 404
    assert b"scoop" not in response.content


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.rsplit(":", 1)[0],
        lambda token: "0" + token,
        lambda token: "not-a-token",
    ],
    ids=["signature-changed", "signature-removed", "pk-padded", "garbage"],
)
def test_tampered_token_is_not_found(client, draft, tamper):
    token = tamper(token_of(preview_url(draft)))
    assert client.get(reverse("preview", args=[token])).status_code == 404


def test_token_signed_for_something_else_is_not_found(client, draft):
    for signer in (signing.TimestampSigner(), signing.TimestampSigner(salt="other")):
        token = signer.sign(str(draft.pk))
        assert client.get(reverse("preview", args=[token])).status_code == 404


def test_expired_link_is_not_found(client, draft, monkeypatch, settings):
    settings.NEWSROOM_PREVIEW_MAX_AGE = 60
    assert client.get(signed_at(monkeypatch, 50, draft)).status_code == 200
    assert client.get(signed_at(monkeypatch, 70, draft)).status_code == 404


def test_link_lives_48_hours_by_default(client, draft, monkeypatch):
    hour = 60 * 60
    assert client.get(signed_at(monkeypatch, 47 * hour, draft)).status_code == 200
    assert client.get(signed_at(monkeypatch, 49 * hour, draft)).status_code == 404


def test_link_to_a_deleted_story_is_not_found(client, draft):
    url = preview_url(draft)
    draft.delete()
    assert client.get(url).status_code == 404


def test_preview_url_is_absolute_when_given_a_request(rf, draft):
    request = rf.get("/admin/", secure=True)
    parts = urlsplit(preview_url(draft, request=request))
    assert (parts.scheme, parts.netloc) == ("https", "testserver")
    assert resolve(parts.path).url_name == "preview"


def test_preview_only_answers_reading(client, draft):
    assert client.head(preview_url(draft)).status_code == 200
    assert client.post(preview_url(draft)).status_code == 405
