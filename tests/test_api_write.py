"""The editors' write API: tokens, permissions, validation, and what readers see."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import DatabaseError
from django.db.models.signals import m2m_changed
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import Article, Headline, Status, Withdrawal

ARTICLE_PERMISSIONS = ("add_article", "change_article", "publish_article")
HEADLINE_PERMISSIONS = ("add_headline", "change_headline", "publish_headline")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def make_user(db):
    """Build users: staff with the given permission codenames unless told."""
    counter = iter(range(1, 1_000_000))

    def make(*codenames, is_staff=True):
        user = User.objects.create_user(f"user{next(counter)}", is_staff=is_staff)
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(codename=codename))
        return user

    return make


def client_for(user) -> APIClient:
    """An API client that sends ``user``'s token, as an editor's app would."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def editor(make_user):
    return make_user(*ARTICLE_PERMISSIONS, *HEADLINE_PERMISSIONS)


@pytest.fixture
def editor_client(editor):
    return client_for(editor)


def articles_url() -> str:
    return reverse("api:article-list")


def article_url(slug: str) -> str:
    return reverse("api:article-detail", args=[slug])


def assert_error(response, status: int, *, field: str | None = None) -> dict:
    """Check the one error shape; return the error."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"status", "code", "message", "fields"}
    if field is not None:
        assert field in error["fields"]
        assert field in error["message"]
        assert all(isinstance(message, str) for message in error["fields"][field])
    return error


# Tokens.


def test_token_from_the_management_command_authenticates(api_client, editor):
    out = io.StringIO()
    call_command("drf_create_token", editor.username, stdout=out)
    key = Token.objects.get(user=editor).key
    assert key in out.getvalue()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.post(
        articles_url(), {"headline": "By token", "body": "Text."}, format="json"
    )

    assert response.status_code == 201
    assert Article.objects.get(slug="by-token").headline == "By token"


def test_token_created_in_code_authenticates_reads_of_drafts(make_article, editor):
    make_article(slug="unfinished", status=Status.DRAFT)
    key = Token.objects.create(user=editor).key
    client = APIClient()

    anonymous = client.get(article_url("unfinished"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    signed_in = client.get(article_url("unfinished"))

    assert anonymous.status_code == 404
    assert signed_in.status_code == 200
    assert signed_in.json()["status"] == "draft"


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_token_is_401(api_client, editor, method):
    Token.objects.create(user=editor)
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")

    if method == "get":
        response = api_client.get(articles_url())
    else:
        response = api_client.post(
            articles_url(), {"headline": "Nope", "body": "Nope."}, format="json"
        )

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Token"
    assert not Article.objects.exists()


# Who may write.


@pytest.fixture
def story(make_article):
    return make_article(slug="harbour-reopens", headline="Harbour reopens")


@pytest.fixture
def line(make_headline):
    return make_headline(slug="harbour-line", text="Harbour reopens")


def write_requests(story, line):
    """Every write the API offers, one per method and resource."""
    return [
        ("post", articles_url(), {"headline": "New", "body": "Text."}),
        ("put", article_url(story.slug), {"headline": "Put", "body": "Text."}),
        ("patch", article_url(story.slug), {"headline": "Patched"}),
        ("post", reverse("api:headline-list"), {"text": "New line"}),
        (
            "put",
            reverse("api:headline-detail", args=[line.slug]),
            {"text": "Put line"},
        ),
        (
            "patch",
            reverse("api:headline-detail", args=[line.slug]),
            {"text": "Patched line"},
        ),
    ]


def assert_unchanged(story, line):
    assert Article.objects.count() == 1
    assert Headline.objects.count() == 1
    assert Article.objects.get().headline == story.headline
    assert Headline.objects.get().text == line.text


def test_anonymous_writes_are_401_with_how_to_authenticate(api_client, story, line):
    for method, url, data in write_requests(story, line):
        response = getattr(api_client, method)(url, data, format="json")

        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"] == "Token"
    assert_unchanged(story, line)


def test_signed_in_user_who_is_not_staff_gets_403_even_with_permissions(
    make_user, story, line
):
    client = client_for(
        make_user(*ARTICLE_PERMISSIONS, *HEADLINE_PERMISSIONS, is_staff=False)
    )

    for method, url, data in write_requests(story, line):
        assert_error(getattr(client, method)(url, data, format="json"), 403)
    assert_unchanged(story, line)


def test_staff_without_the_model_permission_gets_403(make_user, story, line):
    nothing = client_for(make_user())
    headlines_only = client_for(make_user(*HEADLINE_PERMISSIONS))
    articles_only = client_for(make_user(*ARTICLE_PERMISSIONS))

    for method, url, data in write_requests(story, line):
        assert_error(getattr(nothing, method)(url, data, format="json"), 403)
    for method, url, data in write_requests(story, line)[:3]:
        assert_error(getattr(headlines_only, method)(url, data, format="json"), 403)
    for method, url, data in write_requests(story, line)[3:]:
        assert_error(getattr(articles_only, method)(url, data, format="json"), 403)
    assert_unchanged(story, line)


def test_staff_with_add_permission_alone_cannot_change_a_story(make_user, story):
    client = client_for(make_user("add_article"))

    response = client.patch(article_url(story.slug), {"headline": "X"}, format="json")

    assert_error(response, 403)
    assert Article.objects.get().headline == "Harbour reopens"


def test_staff_with_add_permission_alone_can_create_a_draft(make_user):
    client = client_for(make_user("add_article"))

    response = client.post(
        articles_url(), {"headline": "Add only", "body": "Text."}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["status"] == "draft"


def test_staff_with_article_permissions_create_and_update_stories(editor_client):
    created = editor_client.post(
        articles_url(), {"headline": "Cranes restart", "body": "Text."}, format="json"
    )
    assert created.status_code == 201

    updated = editor_client.put(
        article_url("cranes-restart"),
        {"headline": "Cranes restart at dawn", "body": "More text."},
        format="json",
    )

    assert updated.status_code == 200
    story = Article.objects.get()
    assert (story.headline, story.body) == ("Cranes restart at dawn", "More text.")
    assert updated.json()["body_html"] == "<p>More text.</p>"


def test_staff_with_headline_permissions_create_and_update_headlines(make_user):
    client = client_for(make_user(*HEADLINE_PERMISSIONS))

    created = client.post(
        reverse("api:headline-list"), {"text": "Port strike ends"}, format="json"
    )
    assert created.status_code == 201
    assert created.headers["Location"].endswith(
        reverse("api:headline-detail", args=["port-strike-ends"])
    )
    updated = client.patch(
        reverse("api:headline-detail", args=["port-strike-ends"]),
        {"text": "Port strike ends after a week"},
        format="json",
    )

    assert updated.status_code == 200
    line = Headline.objects.get()
    assert (line.slug, line.text) == (
        "port-strike-ends",
        "Port strike ends after a week",
    )
    assert line.status == Status.DRAFT


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(
            "anonymous",
        ),
        pytest.param(
            "editor",
        ),
        "superuser",
    ],
)
def test_nothing_can_be_deleted_through_the_api(who, make_user, story, line):
    if who == "anonymous":
        client = APIClient()
    elif who == "editor":
        client = client_for(make_user(*ARTICLE_PERMISSIONS, *HEADLINE_PERMISSIONS))
    else:
        client = client_for(User.objects.create_superuser("chief"))
    urls = [
        article_url(story.slug),
        reverse("api:headline-detail", args=[line.slug]),
        articles_url(),
    ]

    responses = [client.delete(url) for url in urls]

    assert Article.objects.filter(pk=story.pk).exists()
    assert Headline.objects.filter(pk=line.pk).exists()
    assert not Withdrawal.objects.exists()
    for response in responses:
        assert_error(response, 405)
        assert "DELETE" not in response.headers["Allow"]


# Creating.


def test_create_with_headline_and_body_gives_a_draft_with_a_slug(editor_client):
    response = editor_client.post(
        articles_url(),
        {"headline": "Harbour reopens after storm", "body": "Cranes *restart*."},
        format="json",
    )

    assert response.status_code == 201
    data = response.json()
    assert data["slug"] == "harbour-reopens-after-storm"
    assert data["status"] == "draft"
    assert data["published_at"] is None
    assert data["body_html"] == "<p>Cranes <em>restart</em>.</p>"
    assert response.headers["Location"].endswith(
        article_url("harbour-reopens-after-storm")
    )
    assert editor_client.get(response.headers["Location"]).json()["id"] == data["id"]
    story = Article.objects.get(pk=data["id"])
    assert not story.is_public
    assert story.tags.count() == 0


def test_generated_slug_that_is_taken_gets_a_number(editor_client, story):
    response = editor_client.post(
        articles_url(), {"headline": "Harbour reopens", "body": "Again."}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "harbour-reopens-2"


def test_publishing_without_a_time_publishes_now(editor_client, api_client):
    before = timezone.now()
    response = editor_client.post(
        articles_url(),
        {"headline": "Out now", "body": "Text.", "status": "published"},
        format="json",
    )
    after = timezone.now()

    assert response.status_code == 201
    story = Article.objects.get()
    assert before <= story.published_at <= after
    assert story.is_public
    assert api_client.get(article_url("out-now")).status_code == 200


def test_publishing_at_a_later_time_schedules(editor_client, api_client):
    later = timezone.now() + timedelta(days=1)
    response = editor_client.post(
        articles_url(),
        {
            "headline": "Embargoed",
            "body": "Text.",
            "status": "published",
            "published_at": later.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201
    assert Article.objects.get().is_scheduled
    assert api_client.get(article_url("embargoed")).status_code == 404


def test_tags_are_given_by_slug(editor_client, make_tag):
    make_tag(name="Trade", slug="trade")
    make_tag(name="Shipping", slug="shipping")
    make_tag(name="Weather", slug="weather")

    response = editor_client.post(
        articles_url(),
        {"headline": "Tagged", "body": "Text.", "tags": ["trade", "shipping"]},
        format="json",
    )

    assert response.status_code == 201
    assert sorted(tag["slug"] for tag in response.json()["tags"]) == [
        "shipping",
        "trade",
    ]
    assert sorted(Article.objects.get().tags.values_list("slug", flat=True)) == [
        "shipping",
        "trade",
    ]


def test_generated_slug_keeps_the_letters_of_other_scripts(editor_client, client):
    response = editor_client.post(
        articles_url(),
        {"headline": "习近平会见", "body": "Text.", "status": "published"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "习近平会见"
    assert editor_client.get(response.headers["Location"]).status_code == 200
    assert client.get(response.json()["url"]).status_code == 200


def test_tags_that_are_not_a_list_are_a_400_on_tags(editor_client, make_tag):
    make_tag(slug="trade")

    response = editor_client.post(
        articles_url(),
        {"headline": "Tagged", "body": "Text.", "tags": "trade"},
        format="json",
    )

    assert_error(response, 400, field="tags")
    assert not Article.objects.exists()


def test_unknown_tag_is_a_400_that_names_it_and_creates_nothing(
    editor_client, make_tag
):
    make_tag(name="Trade", slug="trade")

    response = editor_client.post(
        articles_url(),
        {"headline": "Half tagged", "body": "Text.", "tags": ["trade", "no-such-tag"]},
        format="json",
    )

    error = assert_error(response, 400, field="tags")
    assert "no-such-tag" in " ".join(error["fields"]["tags"])
    assert not Article.objects.exists()
    assert not Article.tags.through.objects.exists()


@pytest.fixture
def failing_tags():
    """Make the database refuse to store tags, as a lost connection would."""

    def refuse(sender, action, **kwargs):
        if action in {"pre_add", "pre_clear", "pre_remove"}:
            raise DatabaseError("could not write the tags")

    m2m_changed.connect(refuse, sender=Article.tags.through, dispatch_uid="refuse")
    yield
    m2m_changed.disconnect(sender=Article.tags.through, dispatch_uid="refuse")


def test_story_is_not_half_created_when_storing_its_tags_fails(
    editor_client, make_tag, failing_tags
):
    make_tag(slug="trade")

    with pytest.raises(DatabaseError):
        editor_client.post(
            articles_url(),
            {"headline": "Half there", "body": "Text.", "tags": ["trade"]},
            format="json",
        )

    assert not Article.objects.exists()


def test_update_changes_nothing_when_storing_its_tags_fails(
    editor_client, make_tag, make_article, failing_tags
):
    story = make_article(slug="steady", headline="Steady")
    make_tag(slug="trade")

    with pytest.raises(DatabaseError):
        editor_client.patch(
            article_url("steady"),
            {"headline": "Half changed", "status": "draft", "tags": ["trade"]},
            format="json",
        )

    after = Article.objects.get()
    assert (after.headline, after.status) == ("Steady", Status.PUBLISHED)
    assert after.updated_at == story.updated_at
    assert not Withdrawal.objects.exists()


def test_headline_over_200_characters_is_a_400_on_headline(editor_client):
    response = editor_client.post(
        articles_url(), {"headline": "x" * 201, "body": "Text."}, format="json"
    )

    assert_error(response, 400, field="headline")
    assert not Article.objects.exists()


def test_headline_of_200_characters_is_accepted(editor_client):
    response = editor_client.post(
        articles_url(), {"headline": "x" * 200, "body": "Text."}, format="json"
    )

    assert response.status_code == 201


def test_missing_headline_and_body_are_400s_on_each(editor_client):
    response = editor_client.post(articles_url(), {}, format="json")

    error = assert_error(response, 400, field="headline")
    assert set(error["fields"]) == {"headline", "body"}


def test_headline_text_over_300_characters_is_a_400_on_text(make_user):
    client = client_for(make_user(*HEADLINE_PERMISSIONS))

    response = client.post(
        reverse("api:headline-list"), {"text": "x" * 301}, format="json"
    )

    assert_error(response, 400, field="text")
    assert not Headline.objects.exists()


def test_slug_that_is_taken_is_a_400_on_slug(editor_client, story):
    response = editor_client.post(
        articles_url(),
        {"headline": "Other", "body": "Text.", "slug": "harbour-reopens"},
        format="json",
    )

    assert_error(response, 400, field="slug")
    assert Article.objects.count() == 1


def test_slug_that_is_not_a_slug_is_a_400_on_slug(editor_client):
    response = editor_client.post(
        articles_url(),
        {"headline": "Other", "body": "Text.", "slug": "no spaces/please"},
        format="json",
    )

    assert_error(response, 400, field="slug")


@pytest.mark.parametrize(
    "content_type, body, status",
    [
        ("application/json", '{"headline": "Broken", ', 400),
        ("text/plain", "headline=Broken", 415),
        ("application/x-www-form-urlencoded", "headline=Broken&body=x", 415),
    ],
)
def test_body_that_is_not_json_is_refused_with_the_error_shape(
    editor_client, content_type, body, status
):
    response = editor_client.post(articles_url(), body, content_type=content_type)

    assert_error(response, status)
    assert not Article.objects.exists()


def test_body_over_one_megabyte_is_a_413_with_the_error_shape(editor_client):
    body = json.dumps({"headline": "Huge", "body": "x" * (1024 * 1024)})

    response = editor_client.post(articles_url(), body, content_type="application/json")

    assert_error(response, 413)
    assert not Article.objects.exists()


def test_json_that_is_not_an_object_is_a_400(editor_client):
    response = editor_client.post(articles_url(), ["headline"], format="json")

    assert_error(response, 400)
    assert not Article.objects.exists()


def test_headline_links_to_a_story_by_slug(make_user, story):
    client = client_for(make_user(*HEADLINE_PERMISSIONS))

    response = client.post(
        reverse("api:headline-list"),
        {"text": "Harbour reopens today", "article": story.slug},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["article"]["slug"] == story.slug
    assert Headline.objects.get().article == story


def test_headline_linked_to_an_unknown_story_is_a_400_on_article(make_user):
    client = client_for(make_user(*HEADLINE_PERMISSIONS))

    response = client.post(
        reverse("api:headline-list"),
        {"text": "Dangling", "article": "no-such-story"},
        format="json",
    )

    assert_error(response, 400, field="article")
    assert not Headline.objects.exists()


# Updating and reading.


def test_patch_changes_one_field_and_keeps_the_others(
    editor_client, make_article, make_tag
):
    tag = make_tag(slug="trade")
    story = make_article(
        slug="cranes",
        headline="Cranes restart",
        dek="At dawn.",
        byline="A. Writer",
        body="Text.",
        featured=True,
        tags=[tag],
    )

    response = editor_client.patch(
        article_url("cranes"), {"dek": "At noon."}, format="json"
    )

    assert response.status_code == 200
    after = Article.objects.get(pk=story.pk)
    assert after.dek == "At noon."
    assert (after.headline, after.byline, after.body) == (
        "Cranes restart",
        "A. Writer",
        "Text.",
    )
    assert (after.status, after.published_at, after.featured) == (
        Status.PUBLISHED,
        story.published_at,
        True,
    )
    assert list(after.tags.all()) == [tag]


def test_patch_with_a_bad_field_changes_nothing(editor_client, story):
    response = editor_client.patch(
        article_url(story.slug),
        {"dek": "New dek", "headline": "x" * 201},
        format="json",
    )

    assert_error(response, 400, field="headline")
    assert Article.objects.get().dek == ""


def test_editors_read_drafts_through_the_api_and_anonymous_cannot(
    editor_client, api_client, make_article
):
    make_article(slug="in-the-works", status=Status.DRAFT)
    make_article(slug="in-review", status=Status.REVIEW)
    make_article(slug="live")

    editor_list = editor_client.get(articles_url()).json()["results"]
    anonymous_list = api_client.get(articles_url()).json()["results"]

    assert {story["slug"] for story in editor_list} == {
        "in-the-works",
        "in-review",
        "live",
    }
    assert [story["slug"] for story in anonymous_list] == ["live"]
    assert editor_client.get(article_url("in-the-works")).status_code == 200
    assert_error(api_client.get(article_url("in-the-works")), 404)
    assert_error(api_client.patch(article_url("in-the-works"), {}, format="json"), 401)


def test_editor_patch_of_an_unknown_story_is_a_404(editor_client):
    assert_error(
        editor_client.patch(article_url("no-such-story"), {}, format="json"), 404
    )


# What readers see.


def test_story_published_through_the_api_appears_on_the_site_and_in_the_api(
    editor_client, api_client, client
):
    editor_client.post(
        articles_url(), {"headline": "Port opens", "body": "Text."}, format="json"
    )
    page = reverse("articles:detail", args=["port-opens"])
    assert client.get(page).status_code == 404
    assert api_client.get(articles_url()).json()["results"] == []

    response = editor_client.patch(
        article_url("port-opens"), {"status": "published"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["published_at"] is not None
    site = client.get(page)
    assert site.status_code == 200
    assert "Port opens" in site.content.decode()
    assert [
        story["slug"] for story in api_client.get(articles_url()).json()["results"]
    ] == ["port-opens"]


def test_story_unpublished_through_the_api_disappears_and_is_withdrawn_in_the_feed(
    editor_client, api_client, client, make_article
):
    story = make_article(slug="pulled")
    make_article(slug="stays")
    long_ago = timezone.now() - timedelta(days=2)
    Article.objects.update(updated_at=long_ago, published_at=long_ago)
    synced = api_client.get(reverse("api:changes")).json()
    assert {change["slug"] for change in synced["changes"]} == {"pulled", "stays"}

    response = editor_client.patch(
        article_url("pulled"), {"status": "unpublished"}, format="json"
    )

    assert response.status_code == 200
    assert client.get(story.get_absolute_url()).status_code == 404
    assert_error(api_client.get(article_url("pulled")), 404)
    assert [
        item["slug"] for item in api_client.get(articles_url()).json()["results"]
    ] == ["stays"]
    changes = api_client.get(reverse("api:changes"), {"since": synced["next"]}).json()[
        "changes"
    ]
    assert [(change["id"], change["slug"], change["action"]) for change in changes] == [
        (story.pk, "pulled", "withdrawn")
    ]


@pytest.mark.parametrize("ordering", ["published_at", "-published_at"])
def test_editor_pages_through_stories_by_publication_time(
    editor_client, make_article, ordering
):
    published = [make_article() for _ in range(3)]
    make_article(status=Status.DRAFT)  # no publication time: not in this order
    url, seen = f"{articles_url()}?ordering={ordering}&page_size=1", []
    while url:
        response = editor_client.get(url)
        assert response.status_code == 200, response.json()
        seen += [item["slug"] for item in response.json()["results"]]
        url = response.json()["next"]
    assert sorted(seen) == sorted(story.slug for story in published)
