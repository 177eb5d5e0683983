"""
The API under abuse: hostile bodies, parameters, headers and floods get a 4xx
in the one error shape that names the problem, quickly, never a 500 or a hang.
bench/abuse.py sends the same catalogue over real HTTP; the last test here
runs a short version of it.
"""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from articles.models import Article, Headline
from articles.roles import EDITOR
from articles.throttling import SignedInRateThrottle

MB = 1024 * 1024
QUICKLY = 10  # seconds: generous, for a loaded machine; these take milliseconds


@pytest.fixture
def editor_client(django_user_model):
    editor = django_user_model.objects.create_user("edna", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITOR))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor)}")
    return client


@pytest.fixture
def story(make_article, make_tag):
    return make_article(slug="harbour-reopens", tags=[make_tag(slug="harbour")])


def assert_error(response, status: int, *, field=None, says=None) -> dict:
    """Check the one error shape, that it names ``field`` and says ``says``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert error["status"] == status
    assert error["code"] and error["message"]
    if field is not None:
        assert field in error["fields"], error
        assert field in error["message"]
    if says is not None:
        messages = [error["message"], *sum(error.get("fields", {}).values(), [])]
        assert any(says in message for message in messages), error
    return error


def post(client, body: bytes, url=None, **extra):
    """POST raw bytes as JSON; return the answer and how long it took."""
    started = time.monotonic()
    response = client.post(
        url or reverse("api:article-list"),
        body,
        content_type=extra.pop("content_type", "application/json"),
        **extra,
    )
    return response, time.monotonic() - started


def document(**fields) -> bytes:
    return json.dumps({"headline": "Abuse", "body": "Text.", **fields}).encode()


def cursor(text: bytes) -> str:
    return base64.b64encode(text).decode()


# Bodies that are not what JSON should be.


@pytest.mark.parametrize(
    "body, says",
    [
        (b"[" * 100_000 + b"]" * 100_000, "more than 32 levels deep"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "more than 32 levels deep"),
        (b"[" * 1000 + b"]" * 1000, "more than 32 levels deep"),
        (document(tags=json.loads("[" * 32 + "]" * 32)), "more than 32 levels deep"),
        (b'{"version": ' + b"9" * 100_000 + b"}", "more than 100 digits"),
        (b'{"headline": "x", "body": "x", "version": 1e999999}', "too large"),
        (b'{"headline": "x", "body": "x", "version": NaN}', "NaN is not"),
        (b'{"headline": Infinity, "body": "x"}', "Infinity is not"),
        (b'{"headline": -Infinity, "body": "x"}', "-Infinity is not"),
        (b'{"headline": "\xff\xfe", "body": "x"}', "not valid utf-8"),
        (b'{"headline": "a", "headline": "b", "body": "x"}', '"headline" appears'),
        (b'{"headline": "a\\ud800b", "body": "x"}', "lone surrogate"),
        (b'{"headline": "x", "body": "x", "tags": ["\\udc00"]}', "lone surrogate"),
        (b'{"\\ud800": 1, "headline": "x", "body": "x"}', "lone surrogate"),
        (b"{'headline': 'single quotes'}", "not valid JSON"),
        (b'{"headline": "cut short", ', "not valid JSON"),
    ],
    ids=[
        "arrays 100,000 deep",
        "objects 100,000 deep",
        "arrays 1,000 deep",
        "33 deep",
        "100,000 digits",
        "1e999999",
        "NaN",
        "Infinity",
        "-Infinity",
        "invalid UTF-8",
        "duplicate key",
        "lone surrogate",
        "lone surrogate in a list",
        "lone surrogate as a key",
        "single quotes",
        "cut short",
    ],
)
def test_hostile_json_is_a_quick_400_saying_what_is_wrong(editor_client, body, says):
    response, took = post(editor_client, body)

    error = assert_error(response, 400, says=says)
    assert error["code"] == "parse_error"
    assert took < QUICKLY
    assert not Article.objects.exists()


def test_nesting_up_to_the_limit_is_parsed(editor_client):
    # 32 levels: the object and 31 arrays; refused for what it holds, not its depth.
    response, _ = post(editor_client, document(tags=json.loads("[" * 31 + "]" * 31)))

    error = assert_error(response, 400, field="tags")
    assert "deep" not in error["message"]


def test_escaped_characters_outside_the_basic_plane_are_text(editor_client):
    response, _ = post(
        editor_client, b'{"headline": "\\ud83d\\udcf0 News", "body": "x"}'
    )

    assert response.status_code == 201, response.content
    assert Article.objects.get().headline == "\N{NEWSPAPER} News"


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"headline"', b"null", b"12", b"{}"])
def test_a_body_that_is_not_a_story_is_a_400(editor_client, body):
    response, _ = post(editor_client, body)

    assert_error(response, 400)
    assert not Article.objects.exists()


# Sizes and framing.


@pytest.mark.parametrize("size", [MB + 1, 10 * MB])
def test_a_body_over_one_megabyte_is_a_quick_413(editor_client, size):
    body = b'{"headline": "Huge", "body": "' + b"x" * size + b'"}'

    response, took = post(editor_client, body)

    assert_error(response, 413, says="1 MB at most")
    assert took < QUICKLY
    assert not Article.objects.exists()


def test_an_anonymous_10_megabyte_body_is_refused_unread(api):
    response, took = post(api, b"x" * (10 * MB))

    assert_error(response, 401)
    assert took < QUICKLY


def test_a_chunked_body_is_a_411(editor_client):
    response, _ = post(editor_client, document(), HTTP_TRANSFER_ENCODING="chunked")

    assert_error(response, 411, says="Content-Length")
    assert not Article.objects.exists()


class Unreadable:
    """A request body whose connection dropped before it was all sent."""

    def read(self, *args):
        raise OSError("connection reset")

    readline = read


def test_a_body_that_ends_early_is_a_400(editor_client):
    response, _ = post(editor_client, document(), **{"wsgi.input": Unreadable()})

    assert_error(response, 400, says="ended before its Content-Length")


@pytest.mark.parametrize(
    "content_type, status",
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json; charset=bz2_codec", 400),
    ],
)
def test_a_body_in_another_format_is_refused(editor_client, content_type, status):
    response, _ = post(editor_client, document(), content_type=content_type)

    assert_error(response, status)
    assert not Article.objects.exists()


# Fields: NUL characters, sizes, dates, tags.


@pytest.mark.parametrize(
    "name, url, fields",
    [
        ("headline", "api:article-list", {"headline": "a\x00b"}),
        ("slug", "api:article-list", {"slug": "a\x00b"}),
        ("body", "api:article-list", {"body": "a\x00b"}),
        ("tags", "api:article-list", {"tags": ["harbour\x00"]}),
        ("status", "api:article-list", {"status": "draft\x00"}),
        ("article", "api:headline-list", {"text": "Line", "article": "a\x00b"}),
    ],
)
def test_a_nul_character_in_a_field_is_a_400_naming_it(
    editor_client, story, name, url, fields
):
    # PostgreSQL refuses NUL in text: the request must never get that far.
    response, _ = post(editor_client, document(**fields), reverse(url))

    assert_error(response, 400, field=name)
    assert not Headline.objects.exists()


@pytest.mark.parametrize(
    "name, length",
    [
        ("headline", 500_000),
        ("seo_headline", 201),
        ("social_headline", 201),
        ("dek", 401),
        ("byline", 100_000),
        ("slug", 5000),
    ],
)
def test_a_field_over_its_length_is_a_400_naming_it(editor_client, name, length):
    response, _ = post(editor_client, document(**{name: "x" * length}))

    assert_error(response, 400, field=name)
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    "name, value",
    [
        ("published_at", "99999-01-01T00:00:00Z"),
        ("published_at", "2026-13-45"),
        ("published_at", "9999-12-31T23:59:59-14:00"),
        ("published_at", 1e300),
        ("embargo_until", "0001-01-01T00:00:00+14:00"),
    ],
)
def test_an_absurd_date_is_a_400_naming_it(editor_client, name, value):
    response, _ = post(editor_client, document(**{name: value}))

    assert_error(response, 400, field=name)


@pytest.mark.parametrize("tags", [["harbour"] * 101, [f"t{n}" for n in range(50_000)]])
def test_more_than_100_tags_is_a_quick_400(editor_client, story, tags):
    response, took = post(editor_client, document(tags=tags))

    assert_error(response, 400, field="tags", says="At most 100 tags")
    assert took < QUICKLY


def test_one_hundred_tags_are_accepted(editor_client, story):
    response, _ = post(editor_client, document(tags=["harbour"] * 100))

    assert response.status_code == 201, response.content


def test_an_if_match_no_version_can_have_is_a_400(editor_client, story):
    response = editor_client.patch(
        reverse("api:article-detail", args=[story.slug]),
        {"dek": "Changed"},
        format="json",
        HTTP_IF_MATCH=f'"{"9" * 5000}"',
    )

    assert_error(response, 400, field="If-Match")
    story.refresh_from_db()
    assert story.dek == ""


# Query parameters.


@pytest.mark.parametrize(
    "name, parameter, value",
    [
        ("api:article-list", "tag", "harbour\x00"),
        ("api:article-list", "tag", ",".join(["harbour"] * 101)),
        ("api:headline-list", "tag_kind", "topic\x00"),
        ("api:article-list", "ordering", "published_at\x00"),
        ("api:article-list", "q", "harbour\x00"),
        ("api:headline-list", "q", "a" * 201),
        ("api:article-list", "featured", "\x00"),
        ("api:tag-list", "kind", "\x00"),
        ("api:article-list", "cursor", cursor(b"p=2026-01-01T00:00:00\x00&o=0")),
        ("api:article-list", "cursor", cursor(b"p=2026-01-01T00:00:00")),
        ("api:headline-list", "cursor", cursor(b"p=99999-01-01T00:00:00Z")),
        ("api:article-list", "cursor", cursor(b"o=" + b"9" * 5000)),
        ("api:tag-list", "cursor", cursor(b"p=harbour\x00")),
        ("api:tag-list", "cursor", cursor(b"p=harbour\xed\xa0\x80")),
        ("api:changes", "limit", "9" * 5000),
        ("api:changes", "since", "\x00"),
        ("api:changes", "since", "A" * 10_000),
        ("api:article-list", "published_after", "99999-01-01T00:00:00Z"),
        ("api:article-list", "published_after", "2026-13-45"),
        ("api:headline-list", "updated_since", "1e999"),
        ("api:article-list", "published_before", "9" * 5000),
    ],
)
def test_a_hostile_parameter_is_a_400_naming_it(api, story, name, parameter, value):
    response = api.get(reverse(name), {parameter: value})

    assert_error(response, 400, field=parameter)


def test_search_up_to_200_characters_is_a_search(api, story):
    assert api.get(reverse("api:article-list"), {"q": "a" * 200}).status_code == 200


@pytest.mark.parametrize("page_size", ["1000000000000", "-5", "many", "9" * 5000])
def test_an_absurd_page_size_gets_at_most_100(api, make_article, page_size):
    for _ in range(3):
        make_article()

    response = api.get(reverse("api:article-list"), {"page_size": page_size})

    assert response.status_code == 200
    assert 0 < len(response.json()["results"]) <= 100


def test_more_than_1000_parameters_is_a_400(api):
    response = api.get(f"{reverse('api:article-list')}?{'&'.join(['a'] * 1001)}")

    assert_error(response, 400, says="Too many parameters")


# Addresses, methods and headers.


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles/%C3%BC-%E2%98%83/",
        "/api/v1/tags/%F0%9F%98%80/",
        "/api/v1/articles/a%00b/",
        "/api/v1/headlines/%FF%FE/",
        f"/api/v1/articles/{'a' * 5000}/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_an_odd_address_is_a_json_404(editor_client, path, method):
    response = editor_client.generic(
        method, path, b'{"dek": "x"}', content_type="application/json"
    )

    assert_error(response, 404)


def test_a_write_to_no_endpoint_is_a_404_not_a_csrf_failure(editor_client):
    response = editor_client.post("/api/v1/nothing/", {"a": 1}, format="json")

    assert_error(response, 404)


@pytest.mark.parametrize("method", ["TRACE", "BREW", "DELETE", "PUT"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unsupported_method_is_a_405(api, editor_client, story, method, signed_in):
    client = editor_client if signed_in else api
    response = client.generic(method, reverse("api:article-list"))

    assert_error(response, 405)


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_answer(api, story, method):
    assert getattr(api, method)(reverse("api:article-list")).status_code == 200


@pytest.mark.parametrize(
    "header, value",
    [
        ("HTTP_IF_NONE_MATCH", ", ".join(f'"{n}"' for n in range(10_000))),
        ("HTTP_IF_MODIFIED_SINCE", "Sat, 01 Jan 99999 00:00:00 GMT"),
        ("HTTP_IF_MODIFIED_SINCE", "x" * 10_000),
    ],
)
def test_absurd_conditional_headers_are_ignored_quickly(api, story, header, value):
    started = time.monotonic()
    response = api.get(reverse("api:article-list"), **{header: value})

    assert response.status_code == 200
    assert time.monotonic() - started < QUICKLY


@pytest.mark.parametrize(
    "authorization",
    [
        "Token garbage",
        f"Token {'a' * 100_000}",
        "Token a b",
        "Token",
        "Token é",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_a_401(api, story, authorization, method):
    api.credentials(HTTP_AUTHORIZATION=authorization)

    response = getattr(api, method)(reverse("api:article-list"), {}, format="json")

    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


# Rates.


@pytest.fixture
def three_a_minute(monkeypatch):
    """Three requests a minute for anonymous clients and for each token."""
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    monkeypatch.setattr(SignedInRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})


def assert_throttled(response) -> None:
    error = assert_error(response, 429)
    assert error["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_forged_x_forwarded_for_does_not_escape_the_rate(api, three_a_minute):
    url = reverse("api:root")
    answers = [
        api.get(url, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]

    assert answers == [200, 200, 200]
    assert_throttled(api.get(url, HTTP_X_FORWARDED_FOR="198.51.100.7"))


def test_a_token_over_its_rate_gets_429_with_retry_after(editor_client, three_a_minute):
    url = reverse("api:root")
    for _ in range(3):
        assert editor_client.get(url).status_code == 200

    assert_throttled(editor_client.get(url))
    response, _ = post(editor_client, document())
    assert_throttled(response)
    assert not Article.objects.exists()


def test_each_token_has_a_rate_of_its_own(
    editor_client, django_user_model, three_a_minute
):
    url = reverse("api:root")
    for _ in range(4):
        editor_client.get(url)
    other = django_user_model.objects.create_user("otto", is_staff=True)
    other_client = APIClient()
    other_client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other)}"
    )

    assert other_client.get(url).status_code == 200


# Over real HTTP.


def test_the_abuse_run_sees_no_server_error():
    """bench/abuse.py --quick: gunicorn, raw sockets, the whole catalogue."""
    script = Path(settings.BASE_DIR) / "bench" / "abuse.py"
    run = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "5xx: 0" in run.stdout
    assert "429×" in run.stdout  # the floods were throttled
