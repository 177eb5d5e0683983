"""
Past one machine: two gunicorn instances on their own ports, sharing one
PostgreSQL database and one Redis, as two app servers behind a load balancer
would. A change made through one is seen through the other within a second,
and no stale page is served by either.

Needs PostgreSQL and Redis; .ci/run's PostgreSQL pass sets
NEWSROOM_REQUIRE_TWO_INSTANCES=1 so that it fails rather than skips.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.authtoken.models import Token

from articles.models import Status
from articles.roles import EDITOR

ROOT = Path(settings.BASE_DIR)
GUNICORN = Path(sys.executable).parent / "gunicorn"
REDIS_URL = os.environ.get("NEWSROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
WITHIN = 1.0  # seconds

pytestmark = pytest.mark.django_db(transaction=True)


def missing() -> str | None:
    if connection.vendor != "postgresql":
        return "two app servers need a database server they share (PostgreSQL)"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except Exception as error:  # noqa: BLE001 (any failure means no Redis)
        return f"Redis is unreachable at {REDIS_URL} ({error})"
    return None


@pytest.fixture
def requirements():
    reason = missing()
    if reason:
        if os.environ.get("NEWSROOM_REQUIRE_TWO_INSTANCES") == "1":
            pytest.fail(f"{reason}, and NEWSROOM_REQUIRE_TWO_INSTANCES=1")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(base: str, path: str, **headers) -> tuple[int, dict, str]:
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def send(base: str, method: str, path: str, token: str, data: dict) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(data).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)
        return json.loads(response.read())


def seen_within(check, seconds: float = WITHIN) -> float:
    """Poll ``check`` until it holds; return how long that took, or fail."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            pytest.fail(f"not seen through the other instance within {seconds} s")
        time.sleep(0.02)


@pytest.fixture
def instances(requirements):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        # Plain HTTP on the loopback: no redirect to HTTPS, no Secure cookies.
        "DJANGO_HTTPS": "false",
        # One log line per request would flood the terminal.
        "NEWSROOM_REQUEST_LOG_LEVEL": "WARNING",
        "DJANGO_SECRET_KEY": "two-instances-test-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "NEWSROOM_PAGE_CACHE": "true",
    }
    servers, bases = [], []
    try:
        for _ in range(2):
            port = free_port()
            servers.append(
                subprocess.Popen(
                    [
                        str(GUNICORN),
                        "newsroom.wsgi",
                        "--workers",
                        "2",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                    start_new_session=True,
                )  # fmt: skip
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            for _ in range(150):
                try:
                    urllib.request.urlopen(base + "/robots.txt", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"gunicorn at {base} did not start")
        yield bases
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def token(django_user_model):
    editor = django_user_model.objects.create_user("edna", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITOR))
    return Token.objects.create(user=editor).key


def test_a_change_through_one_instance_shows_on_the_other(
    instances, token, make_article
):
    one, other = instances
    story = make_article(headline="Harbour reopens", slug="harbour-reopens")
    page, api = story.get_absolute_url(), "/api/v1/articles/harbour-reopens/"

    # Both read the story; the second instance is answered from the cache
    # the first one filled: the two share it.
    for path in (page, api, "/"):
        assert get(one, path)[0] == 200
        status, headers, _ = get(other, path)
        assert status == 200
        assert "Age" in headers, f"{path} not shared between the instances"

    # An edit through one shows on the other, on every surface.
    send(one, "PATCH", api, token, {"headline": "Harbour reopens after storm"})
    took = seen_within(lambda: "after storm" in get(other, page)[2])
    assert "after storm" in get(other, "/")[2]
    assert json.loads(get(other, api)[2])["headline"] == "Harbour reopens after storm"
    assert "after storm" in get(other, "/feeds/latest.rss")[2]
    assert took < WITHIN

    # Publishing a draft through one puts it on the other's front page.
    created = send(
        one, "POST", "/api/v1/articles/", token,
        {"headline": "Ferries resume", "body": "The first ferry left at dawn."},
    )  # fmt: skip
    assert created["status"] == Status.DRAFT
    draft_api = f"/api/v1/articles/{created['slug']}/"
    assert get(other, draft_api)[0] == 404
    send(one, "PATCH", draft_api, token, {"status": "published"})
    seen_within(lambda: "Ferries resume" in get(other, "/")[2])
    assert get(other, draft_api)[0] == 200

    # Unpublishing through one takes the story down on the other.
    send(other, "PATCH", api, token, {"status": "unpublished"})
    seen_within(lambda: get(one, page)[0] == 404)
    assert "after storm" not in get(one, "/")[2]
    assert get(one, api)[0] == 404


def test_no_instance_serves_a_stale_page_after_a_change(instances, token, make_article):
    """Many edits in a row, each read at once through both: never the old text."""
    one, other = instances
    make_article(headline="Count 0", slug="count")
    api = "/api/v1/articles/count/"
    for number in range(1, 11):
        for base in (one, other):
            get(base, "/articles/count/")  # fill the cache with the current text
        writer, reader = (one, other) if number % 2 else (other, one)
        send(writer, "PATCH", api, token, {"headline": f"Count {number}"})
        for base in (reader, writer):
            body = get(base, "/articles/count/")[2]
            assert f"Count {number}<" in body, f"stale page after edit {number}"
