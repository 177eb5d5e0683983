"""
One structured log record per request, with nothing in it worth stealing.

Each request gets a line on the ``newsroom.request`` logger: method, path,
status, time taken, bytes sent, the client's address, the signed-in user's id,
whether the page cache answered, and a request id (the proxy's X-Request-ID
when it sends a sane one, otherwise a new one), which the response carries so
a reader's report can be matched to its line. With NEWSROOM_LOG_FORMAT=json
(the default when DJANGO_DEBUG is off) every record is one JSON object.

What is never logged: cookies, the Authorization header, session data,
request bodies, the values of query parameters whose names suggest a secret,
and secrets in the path (a preview link's token).
"""

import logging
import re
import time
import uuid
from urllib.parse import parse_qsl

from django.utils.functional import empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from newsroom.proxies import client_ip

logger = logging.getLogger("newsroom.request")

REDACTED = "[redacted]"
# URL parameters (in the path or the query string) that carry credentials.
SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:token|key|secret|password|passwd|signature|sig|session|sessionid"
    r"|csrf|csrftoken|csrfmiddlewaretoken|auth|code)(?:$|[_-])",
    re.IGNORECASE,
)
# Paths that are themselves secrets: a preview link (newsroom/urls.py) opens
# an unpublished story for whoever has it. Matched in any text, so that a
# path is hidden even where no URL was resolved (a redirect to add the
# trailing slash, a refused host) and in Django's own messages.
SECRET_PATH = re.compile(r"(/preview/)[^/?#\s'\"]+")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
MAX_QUERY = 512
MAX_USER_AGENT = 256


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response.headers.setdefault("X-Request-ID", request.request_id)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = safe_path(request)
        fields = {
            "request_id": request.request_id,
            "method": request.method,
            "path": path,
            "query": safe_query(request),
            "status": response.status_code,
            "duration_ms": duration_ms,
            "bytes": None if response.streaming else len(response.content),
            "client_ip": client_ip(request),
            "user_id": signed_in_user_id(request),
            "cache": "hit" if "Age" in response.headers else None,
            "user_agent": request.headers.get("User-Agent", "")[:MAX_USER_AGENT],
        }
        logger.log(
            logging.WARNING if response.status_code >= 500 else logging.INFO,
            "%s %s %s %sms",
            request.method,
            path,
            response.status_code,
            duration_ms,
            extra=fields,
        )
        return response


def redact_paths(text: str) -> str:
    """Return ``text`` with the secret part of any secret URL path replaced."""
    return SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)


def safe_path(request) -> str:
    """Return the request's path with any secret in it replaced."""
    path = redact_paths(request.path)
    # Any other URL argument named like a secret, in a route that resolved.
    match = getattr(request, "resolver_match", None)
    for name, value in match.kwargs.items() if match else ():
        if SECRET_NAME.search(name) and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    return path


def safe_query(request) -> str:
    """Return the query string with the values of secret parameters hidden."""
    # Parsed from the raw string, not request.GET: reading request.GET after
    # the view would raise for a request with too many parameters.
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    query = "&".join(
        f"{name}={REDACTED if SECRET_NAME.search(name) else value}"
        for name, value in pairs
    )
    return query if len(query) <= MAX_QUERY else query[:MAX_QUERY] + "…"


def signed_in_user_id(request) -> int | None:
    """Return the user's id, if the request already looked the user up."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class RedactSecrets(logging.Filter):
    """Hide secret paths in every record's message, whoever logged it."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class JsonFormatter(BaseJsonFormatter):
    """
    python-json-logger's formatter, minus the request object Django attaches
    to its own records: its repr holds the full URL, query string and all.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)
