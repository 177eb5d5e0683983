"""
Hostile and malformed seed documents, as one table (issue 7, point 6).

Each case in CORPUS writes something hostile into a seed folder next to a good
document: bytes that are not UTF-8 text, control and invisible characters,
markup, links out of the folder, a named pipe, file names that attack the
terminal. The real `seed` command then runs over the folder, into an empty
database and over an archive that already holds both documents, and again:

- a refused document is named with what is wrong (line and column where they
  help), the command fails without a traceback, and the database is exactly
  as it was for that document, while the good one is still imported;
- an accepted document is stored as the text it is and served escaped on the
  story page, the front page, the headline list, the feeds and the API.

`manage.py seed` also runs over the whole corpus in a process of its own, for
the exit status, the output a terminal would get, and a deadline: a named pipe
must never stall the import. The last test prints the tally.
"""

import builtins
import html
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q
from django.urls import reverse
from django.utils.html import escape

from articles import seeding
from articles.models import Article, Headline, SourceDocument

LIMIT = settings.NEWSROOM_SEED_MAX_BYTES
SECONDS = 60  # more than any case needs; a stalled import fails instead of hanging

GOOD = "good.txt"
HOSTILE = "hostile.txt"
LEAD = "The harbour council met on Monday to approve the new bridge."
SECOND = "Work is due to start in the spring."
HEADLINE = "Harbour Council Approves New Bridge"
GOOD_HEADLINES = [
    "Ferry Timetable Changes for the Summer",
    "Fishing Fleet Returns Early as Storm Nears",
    "Lighthouse Reopens to Visitors",
]


def document(
    body: Sequence[str] = (LEAD,),
    headlines: Sequence[str] = (HEADLINE,),
    *,
    newline: str = "\n",
) -> str:
    return newline.join([*body, "", *headlines]) + newline


GOOD_BODY = ["The town's new ferry terminal opened on Saturday.", SECOND]
GOOD_BYTES = document(GOOD_BODY, GOOD_HEADLINES).encode()
# What the archive holds from earlier imports: the good document one headline
# short (so this run updates it), and an earlier text under the hostile name.
EARLIER_GOOD_BYTES = document(GOOD_BODY, GOOD_HEADLINES[:-1]).encode()
EARLIER_BYTES = document(
    ["An earlier version of this document, imported last week."],
    ["Earlier Headline One", "Earlier Headline Two"],
).encode()


# The corpus.

Build = Callable[[Path], Path]


@dataclass(frozen=True)
class Case:
    """One hostile document and what the command must make of it."""

    id: str
    # Writes the hostile thing at the path it is given; returns the path as
    # the command will see it.
    build: Build
    # Refused: the message after "path:line: ", and the line where it helps.
    problem: str | Callable[[Path], str] | None = None
    line: int | None = None
    # Accepted: the paragraphs and headlines readers must see, exactly.
    paragraphs: tuple[str, ...] = ()
    headlines: tuple[str, ...] = ()
    name: str = HOSTILE
    shown: str | None = None  # the name as it must be printed, when not as is
    given: bool = False  # named on the command line next to the good document
    ignored: bool = False  # not a document at all (a hidden file)
    stops_run: bool = False  # the command line is refused: nothing is read
    unread: bool = False  # must be refused without being opened
    archived: bool = True  # the archive holds an earlier text under its name

    @property
    def outcome(self) -> str:
        if self.ignored:
            return "ignored"
        return "refused" if self.problem else "imported"

    def message(self, path: Path) -> str:
        problem = self.problem(path) if callable(self.problem) else self.problem
        where = str(path.parent / self.shown) if self.shown else str(path)
        return f"{where}:{self.line}: {problem}" if self.line else f"{where}: {problem}"


def writes(content: str | bytes) -> Build:
    data = content.encode() if isinstance(content, str) else content

    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return build


def refused(id: str, content: str | bytes, problem: str, line: int | None = None):
    return Case(id, writes(content), problem=problem, line=line)


def accepted(
    id: str,
    content: str | bytes,
    paragraphs: Sequence[str] = (LEAD,),
    headlines: Sequence[str] = (HEADLINE,),
    **options,
):
    return Case(
        id,
        writes(content),
        paragraphs=tuple(paragraphs),
        headlines=tuple(headlines),
        **options,
    )


def plain(character: str, column: int) -> str:
    return f"{character} at column {column}; documents must be plain text"


def not_utf8(byte: int, column: int) -> str:
    return f"is not UTF-8: byte 0x{byte:02x} at column {column} cannot be decoded"


BINARY = "is a binary file (it contains NUL bytes)"
# A 1×1 PNG image.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08"
    b"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00"
    b"\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
)
BIG_PARAGRAPH = (
    "The council met again on Tuesday to discuss the harbour, the budget and "
    "the new bridge. " * 11_000
)[:900_000].rstrip()
CORPUS_HEADLINE_LIMIT = seeding.MAX_HEADLINES


def link(target: str | Path) -> Build:
    def build(path: Path) -> Path:
        path.symlink_to(target)
        return path

    return build


def link_out_of_the_folder(path: Path) -> Path:
    outside = path.parent.parent / "outside.txt"
    outside.write_text(document(), encoding="utf-8")
    path.symlink_to(Path("..") / "outside.txt")
    return path


def loop_of_two_links(path: Path) -> Path:
    path.symlink_to("loop.link")
    (path.parent / "loop.link").symlink_to(path.name)
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    (path / "inside.txt").write_text(document(), encoding="utf-8")
    return path


def named_pipe(path: Path) -> Path:
    os.mkfifo(path)
    return path


def sparse_file(path: Path) -> Path:
    path.write_bytes(b"")
    os.truncate(path, 4 * 1024**3)
    return path


def through_dot_dot(path: Path) -> Path:
    path.write_text(document(), encoding="utf-8")
    return path.parent / ".." / path.parent.name / path.name


SCRIPT = "<script>alert(1)</script>"
MARKUP = [
    LEAD,
    f"Someone typed {SCRIPT} here.",
    "An <img src=x onerror=alert(2)> and <iframe src='javascript:alert(3)'>.",
    "A [link](javascript:alert(4)), <javascript:alert(5)> and javascript:alert(6).",
    "Entities &lt;script&gt; and &#60;b&#62; stay as typed.",
    "It closes </p><script>alert(7)</script> early.",
    "<svg onload=alert(8)>",
]
LOOKALIKES = [
    LEAD,
    "# Not a heading",
    "**Not bold** and _not italic_",
    "> Not a quote",
    "1. Not a list",
    "- Not a list either",
    "| Not | a table |",
    "```not code```",
    "[Not a link](https://example.com) ![Not an image](x.png)",
    "--- not a rule",
    "    Not code, though indented",
]

CORPUS = [
    # Bytes that are not UTF-8 text.
    refused("png-image", PNG, BINARY, 3),
    refused("nul-bytes", document(headlines=["Harbour\x00Bridge"]), BINARY, 3),
    refused(
        "utf-16-with-bom",
        document().encode("utf-16"),
        "is UTF-16 text, not UTF-8; save it as UTF-8 and retry",
    ),
    refused("utf-16-without-bom", document().encode("utf-16-le"), BINARY, 1),
    refused(
        "utf-32-with-bom",
        document().encode("utf-32"),
        "is UTF-32 text, not UTF-8; save it as UTF-8 and retry",
    ),
    refused(
        "latin-1",
        document(["Café society returns to the harbour."]).encode("latin-1"),
        not_utf8(0xE9, 4),
        1,
    ),
    refused(
        "windows-1252-quotes",
        document(headlines=["Mayor Calls Bridge “A Triumph”"]).encode("cp1252"),
        not_utf8(0x93, 20),
        3,
    ),
    refused(
        "utf-8-cut-short",
        b"Prices rose 5 \xe2\x82 percent.\n\nHarbour Bridge\n",
        not_utf8(0xE2, 15),
        1,
    ),
    refused(
        "utf-8-stray-continuation-byte",
        b"Body\x80 text.\n\nHarbour Bridge\n",
        not_utf8(0x80, 5),
        1,
    ),
    refused(
        "overlong-slash",
        b"A path ..\xc0\xafetc\xc0\xafpasswd leaked.\n\nHarbour Bridge\n",
        not_utf8(0xC0, 10),
        1,
    ),
    refused(
        "overlong-nul",
        b"Modified UTF-8 \xc0\x80 null.\n\nHarbour Bridge\n",
        not_utf8(0xC0, 16),
        1,
    ),
    refused(
        "overlong-three-bytes",
        b"Body text.\n\n\xe0\x80\xafHarbour Bridge\n",
        not_utf8(0xE0, 1),
        3,
    ),
    refused(
        "encoded-lone-surrogate",
        b"Body text.\n\nLone \xed\xa0\x80 surrogate\n",
        not_utf8(0xED, 6),
        3,
    ),
    refused(
        "encoded-surrogate-pair-cesu-8",
        b"Smile \xed\xa0\xbd\xed\xb8\x80 please.\n\nHarbour Bridge\n",
        not_utf8(0xED, 7),
        1,
    ),
    refused(
        "beyond-u10ffff",
        b"Body text.\n\n\xf4\x90\x80\x80 Harbour Bridge\n",
        not_utf8(0xF4, 1),
        3,
    ),
    refused(
        "bad-byte-after-accents-column-in-characters",
        "Café crème brûlée and ".encode() + b"\xff more.\n\nHarbour Bridge\n",
        not_utf8(0xFF, 23),
        1,
    ),
    refused(
        "bad-byte-in-a-file-with-cr-line-endings",
        b"Body one.\rBody two.\r\rHarbour \xff bridge\r",
        not_utf8(0xFF, 9),
        4,
    ),
    # Nothing to import.
    refused("empty", b"", "is empty"),
    refused("whitespace-only", b" \t\n\r\n  \n", "is empty"),
    refused("bom-only", b"\xef\xbb\xbf", "has no text"),
    refused("bom-and-blank-lines", b"\xef\xbb\xbf\r\n \r\n\r\n", "has no text"),
    refused("unicode-spaces-only", "\u00a0\n\u3000\n\u2003\n", "has no text"),
    refused(
        "two-byte-order-marks",
        "\ufeff\ufeff" + document(),
        plain("invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE", 1),
        1,
    ),
    # Line endings and normalisation: read, and never stored.
    accepted(
        "bom-and-crlf",
        "\ufeff" + document([LEAD, SECOND], [HEADLINE, "Second"], newline="\r\n"),
        [LEAD, SECOND],
        [HEADLINE, "Second"],
    ),
    accepted(
        "lone-cr",
        document([LEAD, SECOND], [HEADLINE, "Second"], newline="\r"),
        [LEAD, SECOND],
        [HEADLINE, "Second"],
    ),
    accepted(
        "mixed-line-endings",
        f"{LEAD}\r\n{SECOND}\n\r{HEADLINE}\r\nSecond\rThird\n",
        [LEAD, SECOND],
        [HEADLINE, "Second", "Third"],
    ),
    accepted("no-final-newline", document().rstrip("\n")),
    accepted(
        "decomposed-accents",
        document(
            ["Cafe\u0301 owners on the quay cheered."], ["Cafe\u0301 Owners Cheer"]
        ),
        ["Café owners on the quay cheered."],
        ["Café Owners Cheer"],
    ),
    # Size.
    accepted(
        "paragraph-of-900-kb", document([BIG_PARAGRAPH]), [BIG_PARAGRAPH], [HEADLINE]
    ),
    refused(
        "headline-of-301-characters",
        document(headlines=["x" * 301]),
        "headline is 301 characters, over the limit of 300",
        3,
    ),
    refused(
        "headline-of-900-kb",
        document(headlines=["word " * 180_000]),
        "headline is 899,999 characters, over the limit of 300",
        3,
    ),
    Case(
        "over-the-size-limit",
        writes(document().encode().ljust(LIMIT + 1, b" ")),
        problem=(
            f"is {LIMIT + 1:,} bytes, over the limit of {LIMIT:,} "
            "(NEWSROOM_SEED_MAX_BYTES)"
        ),
        unread=True,
    ),
    Case(
        "sparse-file-of-4-gib",
        sparse_file,
        problem=(
            f"is {4 * 1024**3:,} bytes, over the limit of {LIMIT:,} "
            "(NEWSROOM_SEED_MAX_BYTES)"
        ),
        unread=True,
    ),
    # Control characters: they act on terminals and break feeds.
    refused(
        "bell",
        document(headlines=["Harbour\x07 Bridge"]),
        plain("control character U+0007", 8),
        3,
    ),
    refused(
        "vertical-tab",
        document(["The harbour\x0bcouncil met."]),
        plain("control character U+000B", 12),
        1,
    ),
    refused(
        "form-feed",
        document([LEAD, "\x0cNext page."]),
        plain("control character U+000C", 1),
        2,
    ),
    refused(
        "escape-sequence-clearing-the-screen",
        document(headlines=["\x1b[2J\x1b[HHarbour Bridge"]),
        plain("control character U+001B", 1),
        3,
    ),
    refused(
        "escape-sequence-terminal-hyperlink",
        document(
            ["Read more at \x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\."]
        ),
        plain("control character U+001B", 14),
        1,
    ),
    refused(
        "c1-next-line",
        document(headlines=["Harbour\u0085Bridge"]),
        plain("control character U+0085", 8),
        3,
    ),
    refused(
        "c1-control-sequence-introducer",
        document(headlines=["\u009b31mHarbour Bridge"]),
        plain("control character U+009B", 1),
        3,
    ),
    refused(
        "delete",
        document(headlines=["Harbour Bridge\x7f"]),
        plain("control character U+007F", 15),
        3,
    ),
    accepted(
        "tab-inside-a-headline",
        document(headlines=["Harbour\tBridge Opens"]),
        headlines=["Harbour\tBridge Opens"],
    ),
    # Invisible characters that change what readers see.
    refused(
        "right-to-left-override-in-headline",
        document(headlines=["Invoice \u202egnp.exe Leaked"]),
        plain("invisible character U+202E RIGHT-TO-LEFT OVERRIDE", 9),
        3,
    ),
    refused(
        "right-to-left-isolate-in-body",
        document(["Officials said \u2067the vote\u2069 was close."]),
        plain("invisible character U+2067 RIGHT-TO-LEFT ISOLATE", 16),
        1,
    ),
    refused(
        "left-to-right-embedding",
        document(headlines=["Harbour \u202aBridge\u202c"]),
        plain("invisible character U+202A LEFT-TO-RIGHT EMBEDDING", 9),
        3,
    ),
    refused(
        "zero-width-space-making-a-look-alike-headline",
        document(headlines=["Harbour Bridge", "Harbour\u200b Bridge"]),
        plain("invisible character U+200B ZERO WIDTH SPACE", 8),
        4,
    ),
    refused(
        "word-joiner",
        document(headlines=["Harbour\u2060Bridge"]),
        plain("invisible character U+2060 WORD JOINER", 8),
        3,
    ),
    refused(
        "byte-order-mark-inside",
        document(headlines=["\ufeffHarbour Bridge"]),
        plain("invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE", 1),
        3,
    ),
    refused(
        "line-separator",
        document(["First sentence.\u2028Second sentence."]),
        plain("invisible character U+2028 LINE SEPARATOR", 16),
        1,
    ),
    refused(
        "noncharacter-uffff",
        document(headlines=["Harbour\uffffBridge"]),
        plain("noncharacter U+FFFF", 8),
        3,
    ),
    accepted(
        "right-to-left-text-with-marks",
        document(headlines=["שלום לכולם\u200f 2025", "مرحبا\u061c بالعالم"]),
        headlines=["שלום לכולם\u200f 2025", "مرحبا\u061c بالعالم"],
    ),
    accepted(
        "joiners-in-emoji-and-persian",
        document(headlines=["👩\u200d💻 Coders Gather", "می\u200cخواهم"]),
        headlines=["👩\u200d💻 Coders Gather", "می\u200cخواهم"],
    ),
    # Markup: plain text, shown as typed, never run.
    accepted(
        "script-in-headline",
        document(headlines=[f"{SCRIPT} Council Backs Bridge"]),
        headlines=[f"{SCRIPT} Council Backs Bridge"],
    ),
    accepted(
        "event-handler-in-headline",
        document(headlines=['<img src=x onerror="alert(1)"> Harbour Opens']),
        headlines=['<img src=x onerror="alert(1)"> Harbour Opens'],
    ),
    accepted(
        "javascript-url-in-headline",
        document(headlines=['<a href="javascript:alert(1)">Click</a> for News']),
        headlines=['<a href="javascript:alert(1)">Click</a> for News'],
    ),
    accepted("markup-in-body", document(MARKUP), MARKUP),
    accepted(
        "markup-in-the-lead",
        document([f"{SCRIPT} The council met on Monday."]),
        [f"{SCRIPT} The council met on Monday."],
    ),
    accepted(
        "markdown-lookalikes",
        document(LOOKALIKES, ["**Bold** Claims About the _Bridge_", "# Hash Headline"]),
        # As typed, less the spaces around a line.
        [paragraph.strip() for paragraph in LOOKALIKES],
        ["**Bold** Claims About the _Bridge_", "# Hash Headline"],
    ),
    # The shape of a document.
    refused(
        "only-headlines",
        "\nHarbour Bridge\nCouncil Meets\n",
        "starts with a blank line; the article body must start on line 1 "
        "(a headline list with no body?)",
        1,
    ),
    refused(
        "only-body",
        f"{LEAD}\n{SECOND}\n",
        "has a body but no headline list; a blank line must separate the body "
        "from the headlines",
        2,
    ),
    refused(
        "three-blocks",
        f"{LEAD}\n\n{HEADLINE}\n\nEditor's note: do not publish.\n",
        "has text after the headline list; a blank line ends the body and a "
        "second one ends the headlines",
        5,
    ),
    refused(
        "duplicate-headlines",
        document(headlines=["Harbour Bridge", "Council Meets", "Harbour Bridge"]),
        "repeats the headline on line 3",
        5,
    ),
    refused(
        "duplicate-after-trimming",
        document(headlines=["Harbour Bridge  ", "\tHarbour Bridge"]),
        "repeats the headline on line 3",
        4,
    ),
    refused(
        "duplicate-after-normalisation",
        document(headlines=["Café Reopens", "Cafe\u0301 Reopens"]),
        "repeats the headline on line 3",
        4,
    ),
    refused(
        "thousands-of-headlines",
        document(headlines=[f"Harbour headline number {n}" for n in range(5000)]),
        f"has 5,000 headlines, over the limit of {CORPUS_HEADLINE_LIMIT:,}; "
        "split it into several documents",
        3 + CORPUS_HEADLINE_LIMIT,
    ),
    refused(
        "lead-without-words",
        "!!! ???\n\nHarbour Bridge\n",
        "the body's first sentence has no words to make a headline from",
        1,
    ),
    # Paths: links, special files, odd names.
    Case(
        "link-out-of-the-folder",
        link_out_of_the_folder,
        problem=lambda path: (
            f"is a link to {(path.parent.parent / 'outside.txt').resolve()}, "
            f"outside {path.parent}/"
        ),
        unread=True,
    ),
    Case(
        "link-to-etc-passwd",
        link("/etc/passwd"),
        problem=lambda path: (
            f"is a link to {Path('/etc/passwd').resolve()}, outside {path.parent}/"
        ),
        unread=True,
    ),
    Case(
        "link-to-itself",
        lambda path: link(path.name)(path),
        problem="is a link in a loop of links, which never reaches a file",
        unread=True,
    ),
    Case(
        "loop-of-two-links",
        loop_of_two_links,
        problem="is a link in a loop of links, which never reaches a file",
        unread=True,
    ),
    Case("broken-link", link("nowhere.txt"), problem="is a broken link", unread=True),
    Case(
        "folder-named-txt",
        folder,
        problem="is not a regular file: it is a folder",
        unread=True,
    ),
    Case(
        "named-pipe",
        named_pipe,
        problem="is not a regular file: it is a named pipe (FIFO)",
        unread=True,
    ),
    Case(
        "named-pipe-given-directly",
        named_pipe,
        problem="is not a regular file: it is a named pipe (FIFO)",
        given=True,
        unread=True,
    ),
    Case("hidden-file", writes(document()), name=".hidden.txt", ignored=True),
    Case(
        "dot-dot-in-the-path-argument",
        through_dot_dot,
        problem="refusing a path that contains “..”",
        given=True,
        stops_run=True,
        unread=True,
    ),
    accepted("dot-dot-inside-a-file-name", document(), name="a..b.txt"),
    accepted(
        "dot-dot-file-name-given-directly", document(), name="x..y.txt", given=True
    ),
    accepted("unicode-file-name", document(), name="Zürich – 東京.txt"),
    Case(
        "escape-sequence-in-file-name",
        writes(document()),
        problem="has a file name with control character U+001B; rename it",
        name="red\x1b[31malert.txt",
        shown="red\\x1b[31malert.txt",
        unread=True,
        archived=False,
    ),
    Case(
        "newline-in-file-name",
        writes(document()),
        problem="has a file name with control character U+000A; rename it",
        name="two\nlines.txt",
        shown="two\\nlines.txt",
        unread=True,
        archived=False,
    ),
    Case(
        "file-name-not-utf-8",
        writes(document()),
        problem="has a file name that is not UTF-8; rename it",
        name=os.fsdecode(b"caf\xe9.txt"),
        shown="caf\\xe9.txt",
        unread=True,
        archived=False,
    ),
    Case(
        "right-to-left-override-in-file-name",
        writes(document()),
        problem=(
            "has a file name with invisible character U+202E RIGHT-TO-LEFT "
            "OVERRIDE; rename it"
        ),
        name="invoice\u202efdp.txt",
        shown="invoice\\u202efdp.txt",
        unread=True,
        archived=False,
    ),
]

# Which cases passed in which run, for the tally at the end.
PASSED: dict[str, set[str]] = defaultdict(set)
DATABASE_CHANGED_BY_A_REFUSAL: set[str] = set()
SCENARIOS = ["into-an-empty-database", "over-an-archive"]


# Running the command.


class Stalled(Exception):
    """The command ran past its deadline (not an OSError, which it catches)."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum, frame):
        raise Stalled(f"the seed command ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def files_opened() -> Iterator[set[str]]:
    """Note the real path of every file opened inside the block."""
    opened: set[str] = set()

    def noting(real_open):
        def open_and_note(file, *args, **kwargs):
            if not isinstance(file, int):
                opened.add(os.path.realpath(os.fsdecode(file)))
            return real_open(file, *args, **kwargs)

        return open_and_note

    with pytest.MonkeyPatch.context() as patch:
        for module in (builtins, io, os):
            patch.setattr(module, "open", noting(module.open))
        yield opened


@dataclass
class Run:
    out: str
    err: str
    error: str | None  # the CommandError's message; None when the command succeeded
    opened: set[str]


def seed(*paths: Path) -> Run:
    out, err = io.StringIO(), io.StringIO()
    error = None
    with files_opened() as opened, deadline(SECONDS):
        try:
            call_command("seed", *map(str, paths), stdout=out, stderr=err)
        except CommandError as failure:
            error = str(failure)
    return Run(out.getvalue(), err.getvalue(), error, opened)


def summary(**counts: int) -> str:
    counts = Counter(counts)
    return (
        f"Seeded: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['failed']} failed."
    )


# The database, row by row.


def own_rows(name: str) -> dict[str, Q]:
    """What importing the document called ``name`` writes, table by table."""
    comment = f"Imported from {name}"
    return {
        "articles.SourceDocument": Q(name=name),
        "articles.Article": Q(source__name=name),
        "articles.Headline": Q(source__name=name),
        "articles.Article_tags": Q(article__source__name=name),
        "articles.Headline_tags": Q(headline__source__name=name),
        "reversion.Revision": Q(comment=comment),
        "reversion.Version": Q(revision__comment=comment),
    }


def database(*, leaving_out: str | None = None) -> dict[str, list[dict]]:
    """
    Return every row of every table of the articles and reversion apps, in
    primary-key order; ``leaving_out`` a document's name leaves out the rows
    that importing it wrote, so that the rest can be compared.
    """
    excluded = own_rows(leaving_out) if leaving_out else {}
    tables = {}
    for app in ("articles", "reversion"):
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            label = model._meta.label
            rows = model._base_manager.order_by("pk")
            if label in excluded:
                rows = rows.exclude(excluded[label])
            many = {field.name for field in model._meta.many_to_many}
            tables[label] = [
                {
                    **row,
                    "fields": {
                        name: sorted(value) if name in many else value
                        for name, value in row["fields"].items()
                    },
                }
                for row in serializers.serialize("python", rows)
            ]
    return tables


# What readers are served.


def assert_markup_is_inert(served: str) -> None:
    """Check that ``served`` HTML holds no script, handler or URL from content."""
    # The only scripts are the page's own data (JSON-LD on a story page).
    scripts = re.findall(r"<script[^>]*>", served, flags=re.IGNORECASE)
    assert all('type="application/ld+json"' in script for script in scripts)
    assert not re.search(r"<[a-z][^<>]*\son[a-z]+\s*=", served, flags=re.IGNORECASE)
    assert not re.search(
        r"""<[a-z][^<>]*\s(?:href|src|action)\s*=\s*["']?\s*javascript:""",
        served,
        flags=re.IGNORECASE,
    )
    for tag in ("<img src=x", "<iframe src=", "<svg onload", '<a href="javascript'):
        assert tag not in served


def assert_shown_as_text(served: str, text: str) -> None:
    assert escape(text) in served
    if escape(text) != text:
        assert text not in served


def paragraphs_of(body_html: str) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", body_html, flags=re.DOTALL)


def assert_served_as_plain_text(client, article: Article, headlines: list[Headline]):
    story = client.get(article.get_absolute_url())
    front = client.get(reverse("articles:front"))
    listing = client.get(reverse("articles:headlines"))
    for response in (story, front, listing):
        assert response.status_code == 200
        assert_markup_is_inert(response.content.decode())
    assert_shown_as_text(story.content.decode(), article.headline)
    assert_shown_as_text(story.content.decode(), article.dek)
    assert_shown_as_text(front.content.decode(), article.headline)
    for headline in headlines:
        assert_shown_as_text(listing.content.decode(), headline.text)

    # Feeds: titles are plain text; descriptions and content are HTML.
    rss = ET.fromstring(client.get(reverse("articles:feed-rss")).content)
    [item] = [i for i in rss.iter("item") if i.findtext("title") == article.headline]
    content = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    for fragment in (item.findtext("description"), content):
        assert_markup_is_inert(fragment)
    assert escape(article.dek) in item.findtext("description")
    atom = ET.fromstring(client.get(reverse("articles:feed-atom")).content)
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    [entry] = [
        e
        for e in atom.iterfind("atom:entry", ns)
        if e.findtext("atom:title", namespaces=ns) == article.headline
    ]
    assert_markup_is_inert(entry.findtext("atom:content", namespaces=ns))
    feed = json.loads(client.get(reverse("articles:feed-json")).content)
    [entry] = [e for e in feed["items"] if e["title"] == article.headline]
    assert_markup_is_inert(entry["content_html"])
    assert paragraphs_of(entry["content_html"]) == paragraphs_of(article.body_html)

    # The API: JSON carries the plain text as it is, and its HTML is inert.
    response = client.get(reverse("api:article-detail", args=[article.slug]))
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    data = response.json()
    assert (data["headline"], data["dek"]) == (article.headline, article.dek)
    assert_markup_is_inert(data["body_html"])
    assert data["body_html"] == article.body_html
    for headline in headlines:
        response = client.get(reverse("api:headline-detail", args=[headline.slug]))
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["text"] == headline.text


# The corpus, through the command.


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_hostile_document(case, scenario, vocabulary, tmp_path, client):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    good, path = seeds / GOOD, seeds / case.name
    archive = scenario == "over-an-archive"
    if archive:
        good.write_bytes(EARLIER_GOOD_BYTES)
        earlier = [good]
        if case.archived:
            path.write_bytes(EARLIER_BYTES)
            earlier.append(path)
        first = seed(*earlier)
        assert first.error is None, first.err
        if case.archived:
            path.unlink()
    good.write_bytes(GOOD_BYTES)
    given = case.build(path)
    arguments = [good, given] if case.given else [seeds]
    before, others_before = database(), database(leaving_out=GOOD)

    result = seed(*arguments)

    assert "Traceback" not in result.err
    if case.unread:
        assert os.path.realpath(given) not in result.opened
    if case.stops_run:
        assert result.error == case.message(given)
        assert result.out == result.err == ""
        if database() != before:
            DATABASE_CHANGED_BY_A_REFUSAL.add(case.id)
        assert database() == before
        PASSED[case.id].add(scenario)
        return

    good_outcome = "updated" if archive else "created"
    good_line = (
        f"{good}: updated; headlines: 1 created"
        if archive
        else f"{good}: created (1 article, 3 headlines)"
    )
    assert good_line in result.out.splitlines()
    assert Headline.objects.filter(source__name=GOOD).count() == 3
    if case.outcome == "imported":
        outcome = "updated" if archive and case.archived else "created"
        assert result.error is None, result.err
        assert result.err == ""
        assert result.out.endswith(f"{summary(**Counter([good_outcome, outcome]))}\n")
        assert_imported(case, given, outcome, result, client)
    else:
        failed = 1 if case.outcome == "refused" else 0
        expected_err = f"{case.message(given)}\n" if failed else ""
        assert result.err == expected_err
        expected = summary(**{good_outcome: 1, "failed": failed})
        if failed:
            assert result.error == expected
        else:
            assert result.error is None
            assert result.out.endswith(f"{expected}\n")
        if database(leaving_out=GOOD) != others_before:
            DATABASE_CHANGED_BY_A_REFUSAL.add(case.id)
        assert database(leaving_out=GOOD) == others_before

    # Again: nothing changes, and the answer is the same.
    after = database()
    again = seed(*arguments)

    assert database() == after
    assert f"{good}: unchanged" in again.out.splitlines()
    if case.outcome == "refused":
        assert again.err == f"{case.message(given)}\n"
        assert again.error == summary(unchanged=1, failed=1)
    else:
        assert again.error is None, again.err
        assert f"{given}: unchanged" in again.out.splitlines() or case.ignored
    PASSED[case.id].add(scenario)


def assert_imported(case: Case, path: Path, outcome: str, result: Run, client):
    source = SourceDocument.objects.get(name=path.name)
    article = source.article
    headlines = list(
        Headline.objects.published().filter(source=source).order_by("source_position")
    )
    if outcome == "created":
        created = f"{path}: created (1 article, {len(case.headlines)} headlines)"
        assert created in result.out.splitlines()
    else:
        assert any(
            line.startswith(f"{path}: updated;") for line in result.out.split("\n")
        )
    assert [headline.text for headline in headlines] == list(case.headlines)
    assert paragraphs_of(article.body_html) == [
        html.escape(paragraph, quote=False) for paragraph in case.paragraphs
    ]
    stored = [
        article.headline,
        article.slug,
        article.dek,
        article.body,
        article.body_html,
        source.name,
        *(text for headline in headlines for text in (headline.text, headline.slug)),
    ]
    for text in stored:
        assert not seeding.REFUSED_CHARACTERS.search(text)
        assert "\r" not in text
    assert_served_as_plain_text(client, article, headlines)


def test_headline_limit_is_inclusive(vocabulary, tmp_path, monkeypatch):
    monkeypatch.setattr(seeding, "MAX_HEADLINES", 3)
    (tmp_path / "a.txt").write_text(document(headlines=["A", "B", "C"]), "utf-8")
    (tmp_path / "b.txt").write_text(document(headlines=["A", "B", "C", "D"]), "utf-8")

    result = seed(tmp_path)

    assert result.error == summary(created=1, failed=1)
    assert f"{tmp_path / 'a.txt'}: created (1 article, 3 headlines)" in result.out
    assert result.err == (
        f"{tmp_path / 'b.txt'}:6: has 4 headlines, over the limit of 3; split it "
        "into several documents\n"
    )


# The corpus, through `manage.py seed` in processes of their own.


def manage(database_file: Path, *arguments) -> subprocess.CompletedProcess:
    # A SQLite file of its own, whatever database the suite runs on: these runs
    # check the process (exit status, output, deadline); the tests above check
    # the database.
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database_file}",
        "NEWSROOM_SEED_MAX_BYTES": str(LIMIT),
    }
    environment.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, arguments)],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        encoding="utf-8",  # strict: output a terminal cannot decode fails the test
        timeout=SECONDS,
    )


@dataclass
class Process:
    given: dict[str, Path]  # each case's path in the corpus run
    corpus: subprocess.CompletedProcess  # every case that is read, in one run
    accepted_given: dict[str, Path]
    accepted: subprocess.CompletedProcess  # only the cases that are no error
    stopped: dict[str, subprocess.CompletedProcess]  # a refused command line each


def corpus_folder(root: Path, cases: list[Case]) -> tuple[list[Path], dict[str, Path]]:
    seeds, given_folder = root / "seeds", root / "given"
    seeds.mkdir(parents=True)
    given_folder.mkdir()
    (seeds / GOOD).write_bytes(GOOD_BYTES)
    arguments, given = [seeds], {}
    for case in cases:
        # One folder holds them all, so each needs a name of its own.
        name = case.name if case.name != HOSTILE else f"{case.id}.txt"
        given[case.id] = case.build((given_folder if case.given else seeds) / name)
        if case.given:
            arguments.append(given[case.id])
    return arguments, given


@pytest.fixture(scope="module")
def process(tmp_path_factory) -> Process:
    root = tmp_path_factory.mktemp("processes")
    template = root / "template.sqlite3"
    migrated = manage(template, "migrate", "--noinput", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    with closing(sqlite3.connect(template)) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # one file, to copy

    def fresh_database(name: str) -> Path:
        return Path(shutil.copy(template, root / f"{name}.sqlite3"))

    read = [case for case in CORPUS if not case.stops_run]
    arguments, given = corpus_folder(root / "corpus", read)
    corpus = manage(fresh_database("corpus"), "seed", *arguments)
    good_ones = [case for case in read if case.outcome != "refused"]
    good_arguments, accepted_given = corpus_folder(root / "accepted", good_ones)
    accepted_run = manage(fresh_database("accepted"), "seed", *good_arguments)
    stopped = {}
    for case in (case for case in CORPUS if case.stops_run):
        folder = root / case.id
        folder.mkdir()
        (folder / GOOD).write_bytes(GOOD_BYTES)
        given[case.id] = case.build(folder / case.name)
        stopped[case.id] = manage(
            fresh_database(case.id), "seed", folder / GOOD, given[case.id]
        )
    return Process(given, corpus, accepted_given, accepted_run, stopped)


TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def assert_safe_output(completed: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in completed.stderr
    assert not TERMINAL_CONTROLS.search(completed.stdout + completed.stderr)


def test_manage_py_seed_over_the_whole_corpus(process):
    refusals = sum(case.outcome == "refused" and not case.stops_run for case in CORPUS)
    imports = sum(case.outcome == "imported" for case in CORPUS)

    assert_safe_output(process.corpus)
    assert process.corpus.returncode == 1
    assert process.corpus.stderr.splitlines()[-1] == (
        f"CommandError: {summary(created=1 + imports, failed=refusals)}"
    )
    assert_safe_output(process.accepted)
    assert process.accepted.returncode == 0, process.accepted.stderr
    assert process.accepted.stdout.splitlines()[-1] == summary(created=1 + imports)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_manage_py_seed(case, process):
    given = process.given[case.id]
    if case.stops_run:
        completed = process.stopped[case.id]
        assert_safe_output(completed)
        assert completed.returncode == 1
        assert (
            completed.stderr.splitlines()[-1] == f"CommandError: {case.message(given)}"
        )
        assert completed.stdout == ""
    elif case.outcome == "refused":
        assert case.message(given) in process.corpus.stderr.splitlines()
        assert str(given) not in process.corpus.stdout
    elif case.outcome == "imported":
        created = f": created (1 article, {len(case.headlines)} headlines)"
        assert f"{given}{created}" in process.corpus.stdout.splitlines()
        alone = process.accepted_given[case.id]
        assert f"{alone}{created}" in process.accepted.stdout.splitlines()
    else:
        output = process.corpus.stdout + process.corpus.stderr
        assert case.name not in output
    PASSED[case.id].add("manage.py")


# The tally.


def test_every_hostile_document_is_handled_with_the_database_unchanged(request, capsys):
    runs = [*SCENARIOS, "manage.py"]
    missing = [
        f"{case.id} ({run})"
        for case in CORPUS
        for run in runs
        if run not in PASSED[case.id]
    ]
    outcomes = Counter(case.outcome for case in CORPUS)
    figure = (
        f"hostile seed documents: {len(CORPUS)}, "
        f"refused cleanly: {outcomes['refused']}, "
        f"imported safely: {outcomes['imported']}, "
        f"ignored as not documents: {outcomes['ignored']}, "
        f"database changed by a refused one: {len(DATABASE_CHANGED_BY_A_REFUSAL)}"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with capsys.disabled():
        reporter.write_line(f"\n{figure}")

    assert not missing, (
        f"{len(missing)} runs did not pass or did not run: {', '.join(missing[:5])}…"
    )
    assert len(CORPUS) == len({case.id for case in CORPUS}) >= 80
    assert outcomes["refused"] >= 50 and outcomes["imported"] >= 15
    assert not DATABASE_CHANGED_BY_A_REFUSAL
