"""
The abuse run: gunicorn as in production (sync workers, DEBUG off) on a fresh
seeded SQLite database, and a catalogue of hostile requests sent over real
HTTP with raw sockets: bodies nested a hundred thousand deep, 10 MB bodies
with and without a Content-Length or chunked, lying Content-Lengths, slow
and half-sent bodies, NUL characters and lone surrogates, absurd dates,
numbers and cursors, huge headers, garbage tokens, odd methods; then floods
from one address (with and without a forged X-Forwarded-For) and from one
token until the rates are exceeded.

    .venv/bin/python bench/abuse.py            # the whole catalogue
    .venv/bin/python bench/abuse.py --quick    # the short run the tests make
    .venv/bin/python bench/abuse.py --database-url postgres://postgres@127.0.0.1/abuse

Prints the requests by status, then "5xx: 0"; exits 1 if any answer was a
5xx, a connection was reset or closed without an answer, an answer did not
come within --timeout seconds, or a flood was not throttled (429 with
Retry-After and the error shape). Answers other than the expected ones are
listed, without failing the run.

Left out on purpose: a transfer coding gunicorn does not know
(``Transfer-Encoding: foo``), which gunicorn itself answers 501 as RFC 9112
says, before Django sees the request.
"""

import argparse
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"
MB = 1024 * 1024
# Anonymous catalogue requests come from addresses of their own, so that the
# catalogue tests the handlers, not the throttle; the floods come from HOST.
ADDRESSES = itertools.cycle(
    f"127.0.{a}.{b}" for a in range(1, 5) for b in range(1, 255)
)
# Run by manage.py shell in the run's environment: a fresh database, seeded,
# with editors and their tokens.
SETUP = """
import io
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from articles.models import Article
from articles.roles import EDITOR

call_command("migrate", verbosity=0)
call_command("loadvocabulary", stdout=io.StringIO())
call_command("seed", stdout=io.StringIO())
tokens = []
for number in range({editors}):
    user, _ = get_user_model().objects.get_or_create(
        username=f"abuse-editor-{{number}}", defaults={{"is_staff": True}}
    )
    user.groups.add(Group.objects.get(name=EDITOR))
    tokens.append(Token.objects.get_or_create(user=user)[0].key)
story = Article.objects.published().first()
print(json.dumps({{"tokens": tokens, "story": story.slug}}))
"""


@dataclass
class Answer:
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    failure: str = ""  # "reset", "closed" (no answer) or "timeout"
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        return self.failure or str(self.status)

    def error(self) -> dict:
        try:
            return json.loads(self.body)["error"]
        except (ValueError, KeyError, TypeError):
            return {}


@dataclass
class Case:
    name: str
    data: bytes | list  # the bytes, or (bytes, pause before them) pieces
    expect: set
    source: str = ""
    half_close: bool = False


class Run:
    def __init__(self, port: int, timeout: float):
        self.port = port
        self.timeout = timeout
        self.phases: dict[str, float] = {}
        self.answers: list[tuple[str, Answer]] = []
        self.unexpected: list[str] = []
        self.broken: list[str] = []  # throttling that did not hold
        self.lock = threading.Lock()

    def send(self, case: Case) -> Answer:
        answer = exchange(
            self.port,
            case.data,
            source=case.source or next(ADDRESSES),
            timeout=self.timeout,
            half_close=case.half_close,
        )
        with self.lock:
            self.answers.append((case.name, answer))
            if answer.status not in case.expect and (answer.status or 500) < 500:
                expected = "/".join(map(str, sorted(case.expect)))
                self.unexpected.append(
                    f"{case.name}: {answer.status} (expected {expected}) "
                    f"{answer.body[:160]!r}"
                )
        return answer


def exchange(
    port: int, data, *, source: str, timeout: float, half_close: bool
) -> Answer:
    """Send a request and read the answer, both at once (a server may answer
    before it has read a large body, then stop reading)."""
    pieces = [(data, 0.0)] if isinstance(data, bytes) else data
    started = time.monotonic()
    answer = Answer()
    try:
        sock = socket.create_connection(
            (HOST, port), timeout=timeout, source_address=(source, 0)
        )
    except OSError as error:
        answer.failure = f"connect: {error}"
        return answer

    def write():
        try:
            for piece, pause in pieces:
                time.sleep(pause)
                sock.sendall(piece)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and stopped reading

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    received = b""
    deadline = started + timeout + sum(pause for _, pause in pieces)
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            if complete(received):
                break
    except TimeoutError:
        pass
    except OSError:
        if not complete(received):
            answer.failure = "reset"
    finally:
        sock.close()
    answer.seconds = time.monotonic() - started
    if not answer.failure:
        parse(received, answer)
        if answer.status is None:
            timed_out = time.monotonic() >= deadline - 0.02
            answer.failure = "timeout" if timed_out else "closed"
    return answer


def complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return bool(length) and len(body) >= int(length.group(1))


def parse(received: bytes, answer: Answer) -> None:
    head, found, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", status_line)
    if not found or not match:
        return
    answer.status = int(match.group(1))
    answer.headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines)
    }
    answer.body = body


def request(
    method: str,
    path: str,
    *,
    headers=(),
    body: bytes = b"",
    length: bool = True,
    json_type: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    if body and json_type:
        lines.append("Content-Type: application/json")
    if body and length:
        lines.append(f"Content-Length: {len(body)}")
    lines += headers
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def chunked(body: bytes, size: int = 65536) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def cursor(text: bytes) -> str:
    return b64encode(text).decode().replace("=", "%3D").replace("+", "%2B")


def catalogue(tokens, story: str, *, quick: bool) -> list[Case]:
    """
    Every hostile request and the answers that are acceptable for it. The
    editors' requests take turns among ``tokens``: each token has its own
    rate, and the catalogue is not there to test it.
    """
    articles, headlines = "/api/v1/articles/", "/api/v1/headlines/"
    detail = f"{articles}{story}/"

    def get(name, path, expect=(400,), headers=()):
        return Case(name, request("GET", path, headers=headers), set(expect))

    def auth():
        return f"Authorization: Token {next(tokens)}"

    def write(name, body, expect=(400,), method="POST", path=articles, **kw):
        headers = [auth(), *kw.pop("headers", ())]
        return Case(
            name, request(method, path, headers=headers, body=body, **kw), set(expect)
        )

    def etags(count):
        return "If-None-Match: " + ", ".join(f'"{number}"' for number in range(count))

    def document(**fields):
        return json.dumps({"headline": "Abuse", "body": "Text.", **fields}).encode()

    huge = b'{"headline": "Huge", "body": "' + b"x" * (10 * MB) + b'"}'
    over = b'{"headline": "Over", "body": "' + b"x" * (MB + 10) + b'"}'
    cases = [
        get("baseline list", articles, (200,)),
        get("baseline detail", detail, (200,)),
        # Query parameters: NUL characters, huge and absurd values.
        get("tag with NUL", f"{articles}?tag=a%00b"),
        get("tag_kind with NUL", f"{articles}?tag_kind=%00"),
        get("ordering with NUL", f"{articles}?ordering=published_at%00"),
        get("q with NUL", f"{articles}?q=harbour%00x"),
        get("q too long", f"{articles}?q={'a' * 3000}"),
        get("featured with NUL", f"{articles}?featured=%00"),
        get("kind with NUL", "/api/v1/tags/?kind=%00"),
        get("cursor with NUL", f"{articles}?cursor=%00", (200, 400)),
        get("cursor: NUL time", f"{articles}?cursor={cursor(b'p=2026-01-01%00&o=0')}"),
        get("cursor: naive time", f"{articles}?cursor={cursor(b'p=2026-01-01T00:00')}"),
        get("cursor: year 99999", f"{headlines}?cursor={cursor(b'p=99999-01-01')}"),
        get(
            "cursor: huge offset",
            f"{articles}?cursor={cursor(b'o=' + b'9' * 2000)}",
            (200, 400),
        ),
        get("cursor: reverse maybe", f"{articles}?cursor={cursor(b'r=maybe')}"),
        get("tag cursor with NUL", f"/api/v1/tags/?cursor={cursor(b'p=a%00b')}"),
        get("cursor: 3 KB", f"{articles}?cursor={'A' * 3000}", (200, 400)),
        get("page_size 10^12", f"{articles}?page_size=1000000000000", (200,)),
        get("page_size negative", f"{articles}?page_size=-5", (200,)),
        get("page_size words", f"{articles}?page_size=many", (200,)),
        get("page_size 3000 digits", f"{articles}?page_size={'9' * 3000}", (200,)),
        get("changes limit 3000 digits", f"/api/v1/changes/?limit={'9' * 3000}"),
        get("changes since NUL", "/api/v1/changes/?since=%00"),
        get("changes since garbage", f"/api/v1/changes/?since={'A' * 3000}"),
        get("date year 99999", f"{articles}?published_after=99999-01-01T00:00:00Z"),
        get("date month 13", f"{articles}?published_after=2026-13-45"),
        get(
            "date overflow east",
            f"{articles}?updated_since=0001-01-01T00:00:00%2B14:00",
            (200, 400),
        ),
        get(
            "date overflow west",
            f"{headlines}?published_before=9999-12-31T23:59:59-14:00",
            (200, 400),
        ),
        get("date as a float", f"{articles}?published_after=1e999"),
        get("101 tags", f"{articles}?tag={','.join(['x'] * 101)}"),
        get("1,001 parameters", f"{articles}?{'&'.join(['a'] * 1001)}"),
        get("5 KB query string", f"{articles}?q={'a' * 5000}", (414,)),
        # Addresses and methods.
        get("unicode slug", f"{articles}%C3%BC-%E2%98%83/", (404,)),
        get("emoji tag", "/api/v1/tags/%F0%9F%98%80/", (404,)),
        get("NUL in slug", f"{articles}a%00b/", (404,)),
        get("invalid UTF-8 in path", f"{articles}%FF%FE/", (404,)),
        Case("raw UTF-8 in path", request("GET", f"{articles}ü/"), {400, 404}),
        get("long slug", f"{articles}{'a' * 3000}/", (404,)),
        write("POST to no endpoint", document(), (404,), path="/api/v1/nothing/"),
        Case("HEAD", request("HEAD", articles), {200}),
        Case("OPTIONS", request("OPTIONS", articles), {200}),
        Case("TRACE", request("TRACE", articles), {405}),
        Case("unknown method", request("BREW", articles), {405}),
        Case("DELETE", request("DELETE", detail), {405}),
        Case(
            "PUT on a list",
            request("PUT", articles, headers=[auth()], body=b"{}"),
            {405},
        ),
        Case("garbage request line", b"\x16\x03\x01 nonsense\r\n\r\n", {400}),
        # Headers.
        get("600 ETags", articles, (200, 304), [etags(600)]),
        get("10,000 ETags", articles, (400, 431), [etags(10_000)]),
        get(
            "200 headers",
            articles,
            (400, 431),
            [f"X-Junk-{n}: {n}" for n in range(200)],
        ),
        get(
            "absurd If-Modified-Since",
            articles,
            (200,),
            ["If-Modified-Since: Sat, 01 Jan 99999 00:00:00 GMT"],
        ),
        get("forged Host", articles, (400,), ["Host: evil.example"]),
        get("garbage token", articles, (401,), ["Authorization: Token garbage"]),
        get("8 KB token", articles, (401,), [f"Authorization: Token {'a' * 8000}"]),
        get("token with a space", articles, (401,), ["Authorization: Token a b"]),
        get("empty token", articles, (401,), ["Authorization: Token"]),
        get("token with NUL", articles, (400, 401), ["Authorization: Token a\x00b"]),
        get("token in UTF-8", articles, (400, 401), ["Authorization: Token é"]),
        get("Bearer scheme", articles, (200,), ["Authorization: Bearer x"]),
        get("Basic garbage", articles, (200, 401), ["Authorization: Basic !!!"]),
        # Bodies: anonymous writes are refused before the body is read.
        Case("anonymous 10 MB", request("POST", articles, body=huge), {401, 413}),
        Case(
            "anonymous chunked 10 MB",
            request(
                "POST",
                articles,
                headers=["Transfer-Encoding: chunked"],
                body=chunked(huge),
                length=False,
            ),
            {401},
        ),
        Case(
            "bad token 10 MB",
            request("POST", articles, headers=["Authorization: Token nope"], body=huge),
            {401, 413},
        ),
        # Bodies sent by an editor.
        write("nested arrays 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
        write(
            "nested objects 100,000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        ),
        write("nested 34 deep", document(tags=json.loads("[" * 33 + "]" * 33))),
        write("10 MB body", huge, (413,)),
        write("1 MB and a bit", over, (413,)),
        write(
            "10 MB chunked",
            chunked(huge),
            (411,),
            headers=["Transfer-Encoding: chunked"],
            length=False,
        ),
        write(
            "small chunked",
            chunked(document()),
            (411,),
            headers=["Transfer-Encoding: chunked"],
            length=False,
        ),
        write("10 MB without Content-Length", huge, (400,), length=False),
        write(
            "Content-Length and chunked",
            chunked(document()),
            (400,),
            headers=["Transfer-Encoding: chunked"],
        ),
        write("two Content-Lengths", document(), (400,), headers=["Content-Length: 5"]),
        write(
            "Content-Length: abc",
            document(),
            (400,),
            headers=["Content-Length: abc"],
            length=False,
        ),
        write(
            "Content-Length: -1",
            document(),
            (400,),
            headers=["Content-Length: -1"],
            length=False,
        ),
        write(
            "Content-Length short",
            document(),
            (400,),
            headers=["Content-Length: 10"],
            length=False,
        ),
        Case(
            "Content-Length long, then EOF",
            request(
                "POST",
                articles,
                headers=[auth(), "Content-Length: 500"],
                body=document()[:-2],
                length=False,
            ),
            {400},
            half_close=True,
        ),
        write("100,000-digit number", b'{"version": ' + b"1" * 100_000 + b"}"),
        write("1e999999", b'{"headline": "x", "body": "x", "version": 1e999999}'),
        write("NaN", b'{"headline": "x", "body": "x", "version": NaN}'),
        write("-Infinity", b'{"headline": "x", "body": "x", "version": -Infinity}'),
        write("invalid UTF-8", b'{"headline": "\xff\xfe", "body": "x"}'),
        write(
            "latin-1 charset",
            document(headline="Café").decode().encode("latin-1"),
            (201,),
            json_type=False,
            headers=["Content-Type: application/json; charset=latin-1"],
        ),
        write(
            "bz2 charset",
            document(),
            json_type=False,
            headers=["Content-Type: application/json; charset=bz2_codec"],
        ),
        write(
            "unknown charset",
            document(),
            (201, 400),
            json_type=False,
            headers=["Content-Type: application/json; charset=klingon"],
        ),
        write("duplicate keys", b'{"headline": "a", "headline": "b", "body": "x"}'),
        write("array body", b"[1, 2, 3]"),
        write("string body", b'"headline"'),
        write("null body", b"null"),
        write("number body", b"12"),
        write("empty JSON body", b"{}"),
        write("not JSON", b"{'headline': 'x'}"),
        write(
            "form body",
            b"headline=x&body=y",
            (415,),
            json_type=False,
            headers=["Content-Type: application/x-www-form-urlencoded"],
        ),
        write(
            "text body",
            b"headline",
            (415,),
            json_type=False,
            headers=["Content-Type: text/plain"],
        ),
        write(
            "multipart body",
            b"--x\r\n\r\n--x--",
            (415,),
            json_type=False,
            headers=["Content-Type: multipart/form-data; boundary=x"],
        ),
        write("no content type", document(), (400, 415), json_type=False),
        write("NUL in headline", document(headline="a\x00b")),
        write("NUL in slug", document(slug="a\x00b")),
        write("NUL in a tag", document(tags=["a\x00b"])),
        write("NUL in status", document(status="draft\x00")),
        write(
            "NUL in story of a headline",
            json.dumps({"text": "Line", "article": "a\x00b"}).encode(),
            path=headlines,
        ),
        write("NUL in a key", b'{"head\\u0000line": "x", "body": "x"}'),
        write("lone surrogate", b'{"headline": "a\\ud800b", "body": "x"}'),
        write(
            "lone surrogate in a tag",
            b'{"headline": "x", "body": "x", "tags": ["\\udc00"]}',
        ),
        write(
            "lone surrogate as a key", b'{"\\ud800": 1, "headline": "x", "body": "x"}'
        ),
        write("headline of 500,000", document(headline="x" * 500_000)),
        write("slug of 5,000", document(slug="a" * 5000)),
        write("byline of 100,000", document(byline="x" * 100_000)),
        write("101 tags", document(tags=["x"] * 101)),
        write("100,000 tags", document(tags=["x"] * 100_000)),
        write("tags as an object", document(tags={"a": 1})),
        write("tags nested", document(tags=[["a"]])),
        write("date year 99999", document(published_at="99999-01-01T00:00:00Z")),
        write("date month 13", document(published_at="2026-13-45")),
        write("date overflow", document(embargo_until="9999-12-31T23:59:59-14:00")),
        write("date as a number", document(published_at=1e300)),
        write(
            "version 10^30",
            json.dumps({"dek": "x", "version": 10**30}).encode(),
            (409,),
            method="PATCH",
            path=detail,
        ),
        write(
            "If-Match of 5,000 digits",
            b'{"dek": "x"}',
            (400,),
            method="PATCH",
            path=detail,
            headers=[f'If-Match: "{"9" * 5000}"'],
        ),
        write(
            "PATCH a unicode slug",
            b'{"dek": "x"}',
            (404,),
            method="PATCH",
            path=f"{articles}%C3%BC/",
        ),
        write(
            "PATCH a NUL slug",
            b'{"dek": "x"}',
            (404,),
            method="PATCH",
            path=f"{articles}a%00/",
        ),
        write("valid write", document(headline="A valid story"), (201,)),
    ]

    def slowly(headline):
        return request(
            "POST", articles, headers=[auth()], body=document(headline=headline)
        )

    slow, half = slowly("Slowly"), slowly("Half")
    cases += [
        Case("slow body, in two", [(slow[:200], 0.0), (slow[200:], 1.0)], {201}),
        Case("half a body, then EOF", half[: len(half) - 10], {400}, half_close=True),
    ]
    if not quick:
        trickled = slowly("Trickled")
        pieces = [(trickled[i : i + 8], 0.05) for i in range(0, len(trickled), 8)]
        cases.append(Case("body trickled 8 bytes at a time", pieces, {201}))
    return cases


def flood(run: Run, name: str, requests: list[bytes], source: str) -> list[Answer]:
    cases = [Case(name, data, {200, 429}, source=source) for data in requests]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(run.send, cases))


def check_throttled(run: Run, name: str, answers: list[Answer], most: int) -> None:
    statuses = Counter(answer.outcome for answer in answers)
    throttled = [answer for answer in answers if answer.status == 429]
    if not throttled:
        run.broken.append(f"{name}: never throttled ({dict(statuses)})")
    for answer in throttled:
        error = answer.error()
        if not answer.headers.get("retry-after", "").isdigit():
            run.broken.append(f"{name}: a 429 without Retry-After")
            break
        if error.get("status") != 429 or error.get("code") != "throttled":
            run.broken.append(f"{name}: a 429 not in the error shape: {answer.body!r}")
            break
    if statuses["200"] > most:
        run.broken.append(f"{name}: {statuses['200']} answered, over {most}")


def abuse(run: Run, tokens: list[str], hammer: str, story: str, args) -> None:
    """The catalogue, one request at a time, then the floods."""
    started = time.monotonic()
    for case in catalogue(itertools.cycle(tokens), story, quick=args.quick):
        run.send(case)
    run.phases["catalogue"] = time.monotonic() - started

    # While one worker waits for the rest of a body, the others answer; the
    # client gives up after two seconds, and that worker is free again.
    stalled = request(
        "POST",
        "/api/v1/articles/",
        headers=[f"Authorization: Token {tokens[0]}"],
        body=b'{"headline": "Stalled", "body": "x"}',
    )
    waiting = threading.Thread(
        target=exchange,
        args=(run.port, stalled[:-10]),
        kwargs={"source": next(ADDRESSES), "timeout": 2.0, "half_close": False},
    )
    waiting.start()
    time.sleep(0.2)
    run.send(
        Case("answered beside a stalled body", request("GET", "/api/v1/tags/"), {200})
    )
    waiting.join()

    started = time.monotonic()
    # Without Redis each worker counts in its own memory: a client gets up
    # to rate × workers answers a minute. The floods ask for the API's root,
    # the cheapest answer that is throttled like every other.
    most = args.rate * args.workers
    count = most + 30
    root = request("GET", "/api/v1/")
    answers = flood(run, "anonymous flood", [root] * count, HOST)
    check_throttled(run, "anonymous flood", answers, most)
    forged = [
        request(
            "GET", "/api/v1/", headers=[f"X-Forwarded-For: 10.0.{n // 250}.{n % 250}"]
        )
        for n in range(count)
    ]
    answers = flood(run, "flood, each its own X-Forwarded-For", forged, "127.0.0.2")
    check_throttled(run, "forged X-Forwarded-For flood", answers, most)
    hammered = request("GET", "/api/v1/", headers=[f"Authorization: Token {hammer}"])
    answers = flood(run, "token flood", [hammered] * count, next(ADDRESSES))
    check_throttled(run, "token flood", answers, most)
    run.send(Case("still answering", request("GET", "/api/v1/articles/"), {200}))
    run.phases["floods"] = time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def prepare(env: dict, editors: int) -> dict:
    output = subprocess.run(
        [str(PYTHON), "manage.py", "shell", "-c", SETUP.format(editors=editors)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def serve(env: dict, port: int, workers: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "newsroom.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"{HOST}:{port}",
            "--timeout",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not start")


def report(run: Run, log_text: str, seconds: float) -> bool:
    outcomes = Counter(answer.outcome for _, answer in run.answers)
    classes = Counter(
        f"{outcome[0]}xx" if outcome.isdigit() else outcome
        for outcome in outcomes.elements()
    )
    phases = ", ".join(f"{name} {took:.1f} s" for name, took in run.phases.items())
    lines = [
        f"Abuse run: {len(run.answers)} requests in {seconds:.1f} s ({phases})",
        "",
    ]
    lines.append("| answer | requests | statuses |")
    lines.append("|---|---:|---|")
    for name in ("2xx", "3xx", "4xx", "5xx", "reset", "closed", "timeout"):
        statuses = ", ".join(
            f"{status}×{count}"
            for status, count in sorted(outcomes.items())
            if status.isdigit() and f"{status[0]}xx" == name
        )
        lines.append(f"| {name} | {classes.get(name, 0)} | {statuses} |")
    slowest = sorted(run.answers, key=lambda item: -item[1].seconds)[:5]
    lines.append("")
    lines.append(
        "slowest answers: "
        + ", ".join(f"{name} ({answer.seconds:.2f} s)" for name, answer in slowest)
    )
    internal = log_text.count("Internal Server Error")
    worker_timeouts = log_text.count("WORKER TIMEOUT")
    lines.append(
        f"server log: {internal} internal errors, {worker_timeouts} worker timeouts"
    )
    failed = Counter(
        (name, answer.outcome)
        for name, answer in run.answers
        if answer.failure or (answer.status or 0) >= 500
    )
    failures = [
        f"{name}: {outcome}" + (f" ×{count}" if count > 1 else "")
        for (name, outcome), count in failed.items()
    ]
    for heading, items in (
        ("Failed", failures),
        ("Throttling did not hold", run.broken),
        ("Unexpected (not failing the run)", run.unexpected),
    ):
        if items:
            lines += ["", f"{heading}:", *(f"  {item}" for item in items)]
    lines += ["", f"5xx: {classes.get('5xx', 0)}"]
    sys.stdout.write("\n".join(lines) + "\n")
    return not (failures or run.broken or internal or worker_timeouts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short run")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--rate",
        type=int,
        default=None,
        help="anonymous and per-token requests a minute",
    )
    parser.add_argument(
        "--database-url",
        help="a throwaway database to seed and use (PostgreSQL, say) instead of "
        "a fresh SQLite file",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds an answer may take before it counts as a hang",
    )
    args = parser.parse_args(argv)
    args.workers = args.workers or (2 if args.quick else 3)
    args.rate = args.rate or (10 if args.quick else 120)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsroom-abuse-") as folder:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "abuse-run-only-" + "k3y" * 20,
            "DJANGO_ALLOWED_HOSTS": HOST,
            # Plain HTTP on loopback: no redirect to HTTPS.
            "DJANGO_HTTPS": "false",
            "DATABASE_URL": args.database_url or f"sqlite:///{folder}/abuse.sqlite3",
            "NEWSROOM_PAGE_CACHE": "false",
            "NEWSROOM_API_ANON_RATE": f"{args.rate}/minute",
            "NEWSROOM_API_USER_RATE": f"{args.rate}/minute",
            "NEWSROOM_PROXY_COUNT": "0",
        }
        env.pop("REDIS_URL", None)
        setup = prepare(env, editors=12)
        setup_seconds = time.monotonic() - started
        port = free_port()
        log_path = Path(folder) / "gunicorn.log"
        with log_path.open("w") as log:
            server = serve(env, port, args.workers, log)
            try:
                run = Run(port, args.timeout)
                run.phases["setup"] = setup_seconds
                *tokens, hammer = setup["tokens"]
                abuse(run, tokens, hammer, setup["story"], args)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        ok = report(run, log_path.read_text(), time.monotonic() - started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
