"""
Production settings, the browser's defences, and the editors' accounts:
`check --deploy`, HTTPS behind a proxy, the Content-Security-Policy, login
lockout, password rules and session expiry.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

# A key of the kind `secrets.token_urlsafe(50)` makes.
REAL_KEY = "Yk3vQ8pL2xN7sR4tW9zB1cD6fG5hJ0mA3eU8iO2uP7qS4wX1vZ9nK6lM3jH8gF5d"
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": REAL_KEY,
    "DJANGO_ALLOWED_HOSTS": "news.example",
}
PASSWORD = "a-long-and-unusual-passphrase"


def run(args, **env):
    """Run ``args`` in a fresh interpreter with only ``env`` configured."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "NEWSROOM_"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_variables():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_is_clean_behind_a_proxy_too():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
        NEWSROOM_PROXY_COUNT="1",
    )
    assert result.returncode == 0, result.stderr


def test_check_deploy_names_what_turning_https_off_gives_up():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
        DJANGO_HTTPS="false",
    )
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


@pytest.mark.parametrize(
    "key",
    ["short-but-random-9f8a7b", "x" * 60, "django-insecure-" + "k3Jd9s" * 8],
    ids=["short", "one-character", "django-insecure"],
)
def test_production_refuses_a_weak_secret_key(key):
    result = run(["manage.py", "check"], **{**PRODUCTION, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set to a long random value" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


# What a request to the production settings answers, from a fresh interpreter
# (the security middleware reads its settings once, at start).
PROBE = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
django.setup()
from django.test import Client
results = {}
for name, path, extra in json.loads(sys.argv[1]):
    response = Client().get(path, HTTP_HOST="news.example", **extra)
    results[name] = {
        "status": response.status_code,
        "location": response.get("Location"),
        "headers": dict(response.headers),
        "cookies": {
            key: {"secure": bool(morsel["secure"])}
            for key, morsel in response.cookies.items()
        },
    }
print(json.dumps(results))
"""


def probe(requests, **env):
    result = run(["-c", PROBE, json.dumps(requests)], **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_plain_http_to_https_and_hardens_https_answers():
    answers = probe(
        [
            ["http", "/robots.txt", {}],
            ["https", "/robots.txt", {"secure": True}],
            ["health", "/healthz", {}],
        ]
    )
    assert answers["http"]["status"] == 301
    assert answers["http"]["location"] == "https://news.example/robots.txt"

    headers = answers["https"]["headers"]
    assert answers["https"]["status"] == 200
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "upgrade-insecure-requests" in headers["Content-Security-Policy"]
    # The load balancer's plain-HTTP health probe is answered, not redirected.
    assert answers["health"]["status"] in (200, 503)


def test_only_a_configured_proxy_is_believed_about_https():
    request = [["forwarded", "/robots.txt", {"HTTP_X_FORWARDED_PROTO": "https"}]]
    assert probe(request)["forwarded"]["status"] == 301
    assert probe(request, NEWSROOM_PROXY_COUNT="1")["forwarded"]["status"] == 200


def test_production_cookies_are_secure_and_http_only():
    answers = probe([["login", "/admin/login/", {"secure": True}]])
    assert answers["login"]["cookies"]["csrftoken"]["secure"] is True


# Content-Security-Policy.


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (
            part.split() for part in policy.split(";") if part.strip()
        )
    }


@pytest.mark.parametrize(
    "path", ["/", "/tags/", "/search/?q=china", "/headlines/", "/corrections/"]
)
def test_pages_forbid_inline_and_foreign_script(client, make_article, path):
    make_article()
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_story_page_allows_exactly_its_own_json_ld_by_hash(client, make_article):
    article = make_article(headline="Dam </script><script>alert(1)</script> opens")
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, re.S
    )
    assert len(blocks) == 1
    digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
    assert directives(response)["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert json.loads(blocks[0])["headline"].startswith("Dam </script>")


def test_admin_pages_carry_the_policy(admin_client):
    response = admin_client.get("/admin/articles/article/add/")
    assert directives(response)["script-src"] == ["'self'"]


def test_api_docs_load_their_start_up_script_from_a_file(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style" not in html
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert inline == []
    script = client.get("/api/v1/docs/", {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


# Accounts: lockout after repeated failures, per account and per address.


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_user(
        "editor", password=PASSWORD, is_staff=True
    )


def sign_in(client, username, password, address="198.51.100.7", **headers):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def test_brute_force_on_one_account_is_locked_out_even_with_the_right_password(
    client, editor
):
    limit = settings.AXES_FAILURE_LIMIT
    answers = [
        sign_in(client, "editor", f"guess-{n}").status_code for n in range(limit + 3)
    ]
    # Wrong passwords get the form again until the limit, then the lockout.
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit:]) == {429}
    response = sign_in(client, "editor", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in locked" in page
    assert "Sign-in is locked for 15 minutes after the last attempt" in page
    assert "<title>Sign-in locked | Newsroom admin</title>" in page
    assert "_auth_user_id" not in client.session


def test_lockout_follows_the_account_across_addresses(client, editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "editor", "wrong", address=f"203.0.113.{n + 1}")
    response = sign_in(client, "editor", PASSWORD, address="192.0.2.200")
    assert response.status_code == 429


def test_lockout_follows_the_address_across_accounts(client, editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"someone-{n}", "wrong", address="203.0.113.9")
    assert sign_in(client, "editor", PASSWORD, address="203.0.113.9").status_code == 429
    # The account itself is not locked: from elsewhere its owner gets in.
    assert sign_in(client, "editor", PASSWORD, address="192.0.2.1").status_code == 302


@pytest.mark.parametrize(
    "forwarded, address",
    [
        ("203.0.113.50", "203.0.113.50"),
        ("192.0.2.1, 203.0.113.50", "203.0.113.50"),
        ("203.0.113.50:4711", "203.0.113.50"),
        ("[2001:db8::7]:4711", "2001:db8::7"),
        ("not-an-address", "10.0.0.2"),
        ("", "10.0.0.2"),
    ],
)
def test_behind_one_proxy_the_client_is_the_address_it_saw(
    rf, settings, forwarded, address
):
    from newsroom.proxies import client_ip

    settings.NEWSROOM_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == address


def test_api_throttle_counts_the_address_the_proxy_saw(
    client, db, settings, monkeypatch
):
    from django.core.cache import cache

    from articles.throttling import AnonymousRateThrottle

    settings.NEWSROOM_PROXY_COUNT = 1
    monkeypatch.setattr(AnonymousRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    cache.clear()

    def ask(forwarded):
        return client.get(
            "/api/v1/articles/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    # The client writes a new address each time; the proxy adds the real one.
    answers = [ask(f"198.51.100.{n}, 203.0.113.50") for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert ask("192.0.2.9") == 200  # someone else behind the same proxy
    cache.clear()


def test_behind_a_proxy_the_client_cannot_forge_its_address(client, editor, settings):
    settings.NEWSROOM_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(
            client,
            f"someone-{n}",
            "wrong",
            address="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.50",
        )
    attempt = AccessAttempt.objects.latest("attempt_time")
    assert attempt.ip_address == "203.0.113.50"
    response = sign_in(
        client,
        "editor",
        PASSWORD,
        address="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.50",
    )
    assert response.status_code == 429
    # Another reader behind the same proxy is not locked out.
    other = sign_in(
        client,
        "editor",
        PASSWORD,
        address="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert other.status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_guesses_at_another(
    client, editor, django_user_model
):
    django_user_model.objects.create_user("reporter", password=PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", "guess")
    assert sign_in(client, "reporter", PASSWORD).status_code == 302
    client.logout()
    sign_in(client, "editor", "one more guess")
    # Five guesses at "editor" in all: the account is locked, from anywhere.
    assert sign_in(client, "editor", PASSWORD, address="192.0.2.50").status_code == 429


def test_a_success_clears_earlier_failures(client, editor):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", "wrong")
    assert sign_in(client, "editor", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", "wrong")
    assert sign_in(client, "editor", PASSWORD).status_code == 302


def test_lockout_ends_after_the_cool_off(client, editor):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "editor", "wrong")
    assert sign_in(client, "editor", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert sign_in(client, "editor", PASSWORD).status_code == 302


# Passwords and sessions.


@pytest.mark.parametrize(
    "password, refusal",
    [
        ("password", "This password is too common."),
        ("k9#Lm2", "This password is too short."),
        ("90871234", "This password is entirely numeric."),
        ("editor2026", "The password is too similar to the username."),
    ],
)
def test_admin_refuses_a_weak_password(admin_client, editor, password, refusal):
    response = admin_client.post(
        f"/admin/auth/user/{editor.pk}/password/",
        {"password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert refusal in response.content.decode()
    editor.refresh_from_db()
    assert editor.check_password(PASSWORD)


def test_session_ends_after_the_idle_limit(client, editor):
    assert sign_in(client, "editor", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    session = Session.objects.get()
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert session.expire_date > timezone.now() + idle - timedelta(minutes=1)
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_activity_moves_the_end_of_the_session(client, editor):
    sign_in(client, "editor", PASSWORD)
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/admin/").status_code == 200
    assert Session.objects.get().expire_date > timezone.now() + timedelta(hours=1)
