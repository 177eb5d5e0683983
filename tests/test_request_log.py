"""
The request log: one structured record per request, and nothing in it an
attacker who reads the logs could use (passwords, cookies, tokens, preview
links, request bodies).
"""

import json
import logging

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from articles.models import Status
from articles.previews import make_token
from articles.roles import EDITOR
from newsroom.request_log import JsonFormatter, RedactSecrets
from tests.test_security import run

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="newsroom.request")
    return caplog


def request_records(caplog):
    return [record for record in caplog.records if record.name == "newsroom.request"]


def console_handler() -> logging.Handler:
    """The handler settings.LOGGING gives the root logger."""
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(item, RedactSecrets) for item in handler.filters)
    ]
    return handler


def everything_logged(caplog) -> str:
    """
    Every record as the console handler, with the production formatter,
    writes it: one JSON object a line.
    """
    handler = console_handler()
    formatter = JsonFormatter("{levelname}{name}{message}", style="{")
    return "\n".join(
        formatter.format(record) for record in caplog.records if handler.filter(record)
    )


@pytest.fixture
def editor(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        "night-editor", password=PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=EDITOR))
    return user


def test_each_request_is_one_record_with_its_facts(client, make_article, log):
    article = make_article()
    response = client.get(
        article.get_absolute_url(),
        HTTP_USER_AGENT="Reader/1.0",
        REMOTE_ADDR="198.51.100.4",
    )
    [record] = request_records(log)
    assert record.method == "GET"
    assert record.path == article.get_absolute_url()
    assert record.status == 200
    assert record.bytes == len(response.content)
    assert record.duration_ms > 0
    assert record.client_ip == "198.51.100.4"
    assert record.user_agent == "Reader/1.0"
    assert record.user_id is None
    assert response["X-Request-ID"] == record.request_id
    assert record.getMessage().startswith(f"GET {article.get_absolute_url()} 200 ")


def test_a_proxys_request_id_is_kept_and_a_strange_one_replaced(client, db, log):
    client.get("/robots.txt", HTTP_X_REQUEST_ID="edge-4f1c.9")
    client.get("/robots.txt", HTTP_X_REQUEST_ID="x" * 65)
    client.get("/robots.txt", HTTP_X_REQUEST_ID="a b\tc")
    kept, long, spaced = (record.request_id for record in request_records(log))
    assert kept == "edge-4f1c.9"
    assert len(long) == 32 and long != "x" * 65
    assert len(spaced) == 32


def test_server_errors_are_warnings(client, db, log, monkeypatch):
    from articles import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.FrontPageView, "get", broken)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    [record] = request_records(log)
    assert record.levelno == logging.WARNING
    assert record.status == 500


def test_signing_in_logs_neither_the_password_nor_the_session(client, editor, log):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "night-editor", "password": PASSWORD},
    )
    assert response.status_code == 302
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = client.cookies.get(settings.CSRF_COOKIE_NAME)
    client.get("/admin/")
    logged = everything_logged(log)
    assert PASSWORD not in logged
    assert session_id not in logged
    if csrf is not None:
        assert csrf.value not in logged
    admin_page = request_records(log)[-1]
    assert admin_page.user_id == editor.pk


def test_an_api_token_is_never_logged(client, editor, log):
    token = Token.objects.create(user=editor)
    response = client.get("/api/v1/articles/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert token.key not in everything_logged(log)


def test_a_preview_links_secret_is_redacted(client, make_article, log):
    draft = make_article(status=Status.DRAFT)
    token = make_token(draft)
    assert client.get(f"/preview/{token}/").status_code == 200
    [record] = request_records(log)
    assert record.path == "/preview/[redacted]/"
    assert token not in everything_logged(log)


@pytest.mark.parametrize(
    "how",
    ["no-trailing-slash", "wrong-method", "unknown-host", "plain-http"],
)
def test_a_preview_token_is_hidden_wherever_the_request_ends(
    client, make_article, log, settings, how
):
    token = make_token(make_article(status=Status.DRAFT))
    path = f"/preview/{token}/"
    client.raise_request_exception = False
    if how == "no-trailing-slash":
        response = client.get(path.rstrip("/"))
        assert response.status_code == 301
    elif how == "wrong-method":
        response = client.post(path)
        assert response.status_code == 405
    elif how == "unknown-host":
        response = client.get(path, HTTP_HOST="attacker.example")
        assert response.status_code == 400
    else:
        settings.SECURE_SSL_REDIRECT = True
        response = client.get(path)
        assert response.status_code == 301
    logged = everything_logged(log)
    assert "/preview/[redacted]" in logged
    assert token not in logged


def test_secret_query_values_are_redacted_and_others_kept(client, db, log):
    client.get("/search/", {"q": "harbour", "token": "s3cr3t", "api_key": "k3y"})
    [record] = request_records(log)
    assert "q=harbour" in record.query
    assert "token=[redacted]" in record.query
    assert "api_key=[redacted]" in record.query
    assert "s3cr3t" not in everything_logged(log)
    assert "k3y" not in everything_logged(log)


def test_production_records_are_one_json_object_each(client, db, log):
    client.get("/no-such-page/?token=s3cr3t")
    lines = everything_logged(log).splitlines()
    records = [json.loads(line) for line in lines]
    mine = [record for record in records if record["name"] == "newsroom.request"]
    assert mine[0]["status"] == 404
    assert mine[0]["path"] == "/no-such-page/"
    assert {"timestamp", "levelname", "message", "request_id"} <= set(mine[0])
    # Django's own "Not Found" record carries the request; its text (with the
    # query string) is left out.
    assert all("request" not in record for record in records)
    assert "s3cr3t" not in "\n".join(lines)


def load_logging(**env):
    """The console handler's formatter, as the settings choose it under ``env``."""
    return run(
        [
            "-c",
            "import newsroom.settings as s; "
            "print(s.LOGGING['handlers']['console']['formatter'])",
        ],
        **env,
    )


def test_logs_are_json_in_production_and_plain_on_a_laptop():
    production = load_logging(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="Yk3vQ8pL2xN7sR4tW9zB1cD6fG5hJ0mA3eU8iO2uP7qS4wX1vZ9nK6",
        DJANGO_ALLOWED_HOSTS="news.example",
    )
    assert production.stdout.strip() == "json", production.stderr
    assert load_logging().stdout.strip() == "plain"


def test_an_unknown_log_format_is_refused_with_its_name():
    result = load_logging(NEWSROOM_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "NEWSROOM_LOG_FORMAT='xml' is not a log format" in result.stderr
