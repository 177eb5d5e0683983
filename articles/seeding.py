"""
Read plain-text news documents and import them as articles and headlines.

A document is UTF-8 text (a byte-order mark and CRLF or CR line endings are
accepted and dropped) with this shape:

1. the article body, one paragraph per line, starting on line 1;
2. one or more blank lines;
3. the headline list, one headline per line;
4. optionally, trailing blank lines.

The first blank line ends the body, so a body cannot contain a blank line:
whatever follows the first run of blank lines is the headline list, and text
after a second run of blank lines is refused. So is a document that is not a
regular file inside its folder (a link out of it, a named pipe), has a file
name that is not harmless text, is over NEWSROOM_SEED_MAX_BYTES, is not UTF-8,
holds control or invisible characters (REFUSED_CHARACTERS), or lists more
than MAX_HEADLINES headlines. Everything is checked before anything is
written; a refused document names its file and, where it helps, its line and
column. Markup is plain text like any other: it is stored as typed and shown
escaped.

Importing is idempotent. Items are matched to what the same document gave
before; text that an editor changed since the last import is kept (theirs
wins), text nobody touched follows the document, headlines that left the
document are withdrawn (unpublished, never deleted).
"""

import codecs
import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import reversion
from django.db import DatabaseError, transaction
from django.utils import timezone

from articles.models import Article, Headline, SourceDocument, Status
from articles.tagging import Tagger

DOCUMENT_SUFFIX = ".txt"
HEADLINE_TARGET_LENGTH = 110
# A news document lists a few dozen headlines; thousands are a file put in the
# wrong folder, and would each become a published headline, one by one.
MAX_HEADLINES = 1000
# Characters refused anywhere in a document, and in a document's file name.
# C0 controls other than tab, DEL, and C1 controls: they break XML feeds and
# PostgreSQL text (NUL), and escape sequences act on the terminal showing an
# error. Then invisible characters that change what readers see: bidi
# embeddings, overrides and isolates make a headline read differently from what
# is stored, searched and slugged ("Trojan source"); zero-width spaces and word
# joiners make two different headlines look the same; line and paragraph
# separators are line breaks to some tools but not to this format; a byte-order
# mark past the start comes from files joined with cat. Right-to-left text
# needs none of them, and the joiners and marks that scripts and emoji do need
# (U+200C, U+200D, U+200E, U+200F, U+061C) are accepted. Last, U+FFFE and
# U+FFFF are not characters, and XML feeds cannot carry them.
REFUSED_CHARACTERS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]"
)
# Byte-order marks of the other Unicode encodings, the longer ones first.
OTHER_ENCODINGS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}
ABBREVIATIONS = {
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Gen", "Sen", "Rep", "Gov", "Lt", "Col",
    "Capt", "Sgt", "St", "Jr", "Sr", "No", "Jan", "Feb", "Mar", "Apr", "Aug",
    "Sept", "Sep", "Oct", "Nov", "Dec", "vs", "etc", "Inc", "Corp", "Co", "Ltd",
}  # fmt: skip
SMALL_WORDS = {
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor",
    "of", "on", "onto", "or", "per", "the", "to", "up", "via", "vs", "with",
}  # fmt: skip


class SeedError(Exception):
    """A document that cannot be imported, with where and why."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else self.path
        return printable(f"{where}: {self.message}")


def printable(text: Path | str) -> str:
    """
    Return ``text`` (a message or a path) safe to print on a terminal.

    Bytes of a file name that are not UTF-8 and characters that are not
    printable (controls, escape sequences, invisible characters) are shown
    as escapes such as ``\\xff`` and ``\\u202e``, so that a hostile file name
    can neither act on the terminal nor hide what it is.
    """
    text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode()
        for char in text
    )


def describe_character(char: str) -> str:
    """Name a refused character: "control character U+001B", …"""
    category = unicodedata.category(char)
    kind = {"Cc": "control character", "Cn": "noncharacter"}.get(
        category, "invisible character"
    )
    name = unicodedata.name(char, "")
    return f"{kind} U+{ord(char):04X}" + (f" {name}" if name else "")


@dataclass(frozen=True)
class ParsedHeadline:
    text: str
    line: int
    position: int


@dataclass(frozen=True)
class ParsedDocument:
    path: Path
    name: str
    sha256: str
    size: int
    paragraphs: list[str]
    headlines: list[ParsedHeadline]


@dataclass
class ImportReport:
    """What importing one document did (or, in a dry run, would do)."""

    path: Path
    outcome: str = "unchanged"  # created, updated or unchanged
    notes: list[str] = field(default_factory=list)
    headlines_created: int = 0
    headlines_updated: int = 0
    headlines_moved: int = 0
    headlines_withdrawn: int = 0

    def summary(self) -> str:
        if self.outcome == "created":
            text = f"created (1 article, {self.headlines_created} headlines)"
        else:
            text = self.outcome
        return "; ".join([text, *self.notes])


# Finding and reading documents.


@dataclass(frozen=True)
class DocumentPath:
    """A document to read, and the folder it must stay inside."""

    path: Path
    folder: Path


def find_documents(paths: Iterable[Path | str]) -> list[DocumentPath]:
    """
    Return the documents named by ``paths``, in a stable order.

    A folder stands for the ``*.txt`` files directly inside it (hidden files
    and other names are not documents). Raise SeedError for a path that does
    not exist or contains "..": that is a mistake in the command, not in a
    document. Each document's own checks happen when it is read.
    """
    found: list[DocumentPath] = []
    for given in map(Path, paths):
        if ".." in given.parts:
            raise SeedError(given, "refusing a path that contains “..”")
        if given.is_dir() and not given.is_symlink():
            entries = sorted(
                entry
                for entry in given.iterdir()
                if entry.name.endswith(DOCUMENT_SUFFIX)
                and not entry.name.startswith(".")
            )
            found += [DocumentPath(entry, given) for entry in entries]
        elif given.exists() or given.is_symlink():
            found.append(DocumentPath(given, given.parent))
        else:
            raise SeedError(given, "no such file or folder")
    return found


def _check_name(path: Path) -> None:
    # The name is stored and printed: it must be text, and harmless text.
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise SeedError(path, "has a file name that is not UTF-8; rename it") from None
    # Tabs and line breaks are fine between a document's words, not in a name.
    bad = re.search(r"[\t\n]", path.name) or REFUSED_CHARACTERS.search(path.name)
    if bad:
        raise SeedError(
            path,
            f"has a file name with {describe_character(bad.group())}; rename it",
        )


def _check_location(path: Path, *, folder: Path) -> None:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        # A loop of links is a RuntimeError before Python 3.13, ELOOP since.
        if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
            problem = "is a link in a loop of links, which never reaches a file"
        elif path.is_symlink():
            problem = "is a broken link"
        else:
            problem = f"cannot be read: {error.strerror}"
        raise SeedError(path, problem) from None
    if not resolved.is_relative_to(folder.resolve()):
        raise SeedError(path, f"is a link to {resolved}, outside {folder}/")
    # Checked before anything opens it: opening a named pipe would wait for a
    # writer forever.
    mode = resolved.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = FILE_KINDS.get(stat.S_IFMT(mode), "a special file")
        raise SeedError(path, f"is not a regular file: it is {kind}")


def read_document(
    path: Path, *, max_bytes: int, folder: Path | None = None
) -> ParsedDocument:
    """
    Read and check one document; raise SeedError naming what is wrong.

    The file must be a regular file inside ``folder`` (by default its own
    folder), so a link cannot smuggle in a file from elsewhere.
    """
    _check_name(path)
    _check_location(path, folder=path.parent if folder is None else folder)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SeedError(
                path,
                f"is {size:,} bytes, over the limit of {max_bytes:,} "
                "(NEWSROOM_SEED_MAX_BYTES)",
            )
        with path.open("rb") as file:
            # Read one byte past the limit: a file that grew since stat() is
            # still caught, and never read whole into memory.
            raw = file.read(max_bytes + 1)
    except OSError as error:
        raise SeedError(path, f"cannot be read: {error.strerror}") from None
    if len(raw) > max_bytes:
        raise SeedError(path, f"is over the limit of {max_bytes:,} bytes")
    text = _decode(path, raw)
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        bad = REFUSED_CHARACTERS.search(line)
        if bad:
            raise SeedError(
                path,
                f"{describe_character(bad.group())} at column {bad.start() + 1}; "
                "documents must be plain text",
                line=number,
            )
    paragraphs, headlines = _split(path, lines)
    return ParsedDocument(
        path=path,
        name=path.name,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        paragraphs=paragraphs,
        headlines=headlines,
    )


def _decode(path: Path, raw: bytes) -> str:
    if not raw.strip():
        raise SeedError(path, "is empty")
    for mark, encoding in OTHER_ENCODINGS.items():
        if raw.startswith(mark):
            raise SeedError(
                path, f"is {encoding} text, not UTF-8; save it as UTF-8 and retry"
            )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SeedError(path, "is a binary file (it contains NUL bytes)", line=line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        # Lines and columns as the reader's editor counts them: in characters,
        # after whatever line endings the file uses.
        before = _lines(raw[: error.start].decode("utf-8"))
        raise SeedError(
            path,
            f"is not UTF-8: byte 0x{raw[error.start]:02x} at column "
            f"{len(before[-1]) + 1} cannot be decoded",
            line=len(before),
        ) from None
    return unicodedata.normalize("NFC", "\n".join(_lines(text)))


def _lines(text: str) -> list[str]:
    """Split text at any line ending (LF, CRLF or CR), dropping a leading BOM."""
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _split(path: Path, lines: list[str]) -> tuple[list[str], list[ParsedHeadline]]:
    """Split lines into body paragraphs and headlines by the blank-line rule."""
    blocks: list[list[tuple[int, str]]] = []
    previous_blank = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            previous_blank = True
            continue
        if previous_blank:
            blocks.append([])
        blocks[-1].append((number, line.strip()))
        previous_blank = False
    if not blocks:
        raise SeedError(path, "has no text")
    if lines[0].strip() == "":
        raise SeedError(
            path,
            "starts with a blank line; the article body must start on line 1 "
            "(a headline list with no body?)",
            line=1,
        )
    if len(blocks) == 1:
        raise SeedError(
            path,
            "has a body but no headline list; a blank line must separate the body "
            "from the headlines",
            line=blocks[0][-1][0],
        )
    if len(blocks) > 2:
        raise SeedError(
            path,
            "has text after the headline list; a blank line ends the body and a "
            "second one ends the headlines",
            line=blocks[2][0][0],
        )
    body, headline_lines = blocks
    if len(headline_lines) > MAX_HEADLINES:
        raise SeedError(
            path,
            f"has {len(headline_lines):,} headlines, over the limit of "
            f"{MAX_HEADLINES:,}; split it into several documents",
            line=headline_lines[MAX_HEADLINES][0],
        )
    max_length = Headline._meta.get_field("text").max_length
    headlines: list[ParsedHeadline] = []
    seen: dict[str, int] = {}
    for position, (number, text) in enumerate(headline_lines, start=1):
        if len(text) > max_length:
            raise SeedError(
                path,
                f"headline is {len(text):,} characters, over the limit of {max_length}",
                line=number,
            )
        if text in seen:
            raise SeedError(
                path, f"repeats the headline on line {seen[text]}", line=number
            )
        seen[text] = number
        headlines.append(ParsedHeadline(text=text, line=number, position=position))
    return [text for _, text in body], headlines


# Deriving an article from the body.


def lead_sentence(paragraph: str) -> str:
    """Return the first sentence of ``paragraph``, not fooled by "U.S." or "Mr."."""
    for match in re.finditer(r"[.!?][”’\"')\]]*(?=\s+[“‘\"'(\[]?[A-Z0-9])", paragraph):
        word = paragraph[: match.start()].rsplit(None, 1)[-1]
        if word.rstrip(".") in ABBREVIATIONS or re.fullmatch(r"(?:\w\.)*\w", word):
            continue
        return paragraph[: match.end()]
    return paragraph


def headline_case(text: str) -> str:
    """Capitalise ``text`` the way the publication's headlines are written."""
    words = text.split()
    cased = []
    for index, word in enumerate(words):
        parts = word.split("-")
        first = {0} if index == 0 else set()
        last = {len(parts) - 1} if index == len(words) - 1 else set()
        cased.append(
            "-".join(
                _case_word(part, small_ok=number not in first | last)
                for number, part in enumerate(parts)
            )
        )
    return " ".join(cased)


def _case_word(word: str, *, small_ok: bool) -> str:
    letters = [char for char in word if char.isalpha()]
    if not letters or any(char.isupper() for char in letters):
        return word  # proper nouns, acronyms, "iPhone", numbers
    if small_ok and word.lower() in SMALL_WORDS:
        return word.lower()
    index = next(i for i, char in enumerate(word) if char.isalpha())
    return word[:index] + word[index].upper() + word[index + 1 :]


def derive_headline(lead: str, *, max_length: int) -> str:
    """
    Turn a lead sentence into a headline for an editor to check.

    Keep the main clause (up to the first comma or dash once it has said
    something), use the headline future ("X is set to host" → "X to host"),
    drop the full stop, and apply headline capitalisation.
    """
    text = lead.strip().rstrip(".!?")
    for separator in re.finditer(r",\s|\s[–—]\s", text):
        if len(text[: separator.start()].split()) >= 6:
            text = text[: separator.start()]
            break
    text = re.sub(
        r"\b(?:is|are)\s+(?:set|expected|scheduled|due|poised|going)\s+to\b", "to", text
    )
    # "will" as a verb only: not "the will of the people".
    text = re.sub(
        r"(?<!\b[Tt]he )(?<!\b[Aa] )(?<!\b[Hh]is )(?<!\b[Hh]er )(?<!\b[Ii]ts )"
        r"\bwill\s+(?!of\b)(?=\w)",
        "to ",
        text,
    )
    limit = min(max_length, HEADLINE_TARGET_LENGTH)
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
        words = text.split()
        while len(words) > 1 and words[-1].lower().strip(",;:") in SMALL_WORDS:
            words.pop()
        text = " ".join(words).rstrip(",;:")
    return headline_case(text)


def derive_dek(lead: str, *, max_length: int) -> str:
    if len(lead) <= max_length:
        return lead
    return lead[: max_length - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def plain_to_markdown(paragraph: str) -> str:
    """Escape what Markdown would read as markup, so plain text stays as typed."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", paragraph)
    # "<" has no backslash escape in Markdown; as an entity it shows as typed
    # and can never open a tag.
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text).replace("<", "&lt;")
    # A paragraph is one line, so only a line's first character can start a
    # block (heading, quote, list); setext headings and tables need two lines.
    text = re.sub(r"^([#>+-])", r"\\\1", text)
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


# Importing.


def import_document(
    document: ParsedDocument, *, tagger: Tagger, now: datetime | None = None
) -> ImportReport:
    """
    Import one parsed document in one transaction and say what changed.

    Raise SeedError, with nothing written, if the document cannot give an
    article or the database refuses it.
    """
    now = now or timezone.now()
    values = _article_values(document)
    report = ImportReport(path=document.path)
    try:
        with transaction.atomic(), reversion.create_revision():
            reversion.set_comment(f"Imported from {document.name}")
            source, created = SourceDocument.objects.get_or_create(
                name=document.name,
                defaults={"sha256": document.sha256, "size": document.size},
            )
            if not created and source.sha256 != document.sha256:
                source.sha256, source.size = document.sha256, document.size
                source.save(update_fields=["sha256", "size", "updated_at"])
            _import_article(source, created, values, document, tagger, now, report)
            _import_headlines(source, document, tagger, now, report)
    except DatabaseError as error:
        raise SeedError(document.path, f"the database refused it: {error}") from None
    counts = {
        "created": report.headlines_created,
        "updated": report.headlines_updated,
        "moved": report.headlines_moved,
        "withdrawn": report.headlines_withdrawn,
    }
    if report.outcome != "created" and any(counts.values()):
        report.outcome = "updated"
        report.notes.append(
            "headlines: "
            + ", ".join(f"{count} {what}" for what, count in counts.items() if count)
        )
    return report


def _article_values(document: ParsedDocument) -> dict[str, str]:
    lead = lead_sentence(document.paragraphs[0])
    headline = derive_headline(
        lead, max_length=Article._meta.get_field("headline").max_length
    )
    if not any(char.isalnum() for char in headline):
        raise SeedError(
            document.path,
            "the body's first sentence has no words to make a headline from",
            line=1,
        )
    return {
        "headline": headline,
        "dek": derive_dek(lead, max_length=Article._meta.get_field("dek").max_length),
        "body": "\n\n".join(plain_to_markdown(p) for p in document.paragraphs),
    }


def _import_article(
    source: SourceDocument,
    first_import: bool,
    values: dict[str, str],
    document: ParsedDocument,
    tagger: Tagger,
    now: datetime,
    report: ImportReport,
) -> None:
    text_for_tags = "\n\n".join(document.paragraphs)
    try:
        article = source.article
    except Article.DoesNotExist:
        article = None
    if article is None and not first_import:
        report.notes.append("its article was deleted in the admin and is not recreated")
        return
    if article is None:
        article = Article.objects.create(
            **values,
            status=Status.PUBLISHED,
            published_at=now,
            needs_review=True,
            source=source,
            source_digests=_digests(values),
        )
        article.tags.set(tagger.tags(text_for_tags))
        report.outcome = "created"
        return
    changed, kept, redigested = _merge(article, values)
    if changed:
        if "headline" in changed:
            article.needs_review = True
        article.save()
        # Add what the new text mentions; never drop a tag an editor may want.
        article.tags.add(*tagger.tags(text_for_tags))
        report.outcome = "updated"
        report.notes.append(f"article {', '.join(changed)} updated")
    elif redigested:
        article.save(update_fields=["source_digests"])
    if kept:
        report.notes.append(
            f"kept an editor's changes to the article {', '.join(kept)}"
        )


def _import_headlines(
    source: SourceDocument,
    document: ParsedDocument,
    tagger: Tagger,
    now: datetime,
    report: ImportReport,
) -> None:
    everything = list(source.headlines.order_by("source_position", "pk"))
    current = [h for h in everything if h.source_position is not None]
    # Pair each line with the headline it gave before: first by the text the
    # last import wrote (so reordering, an editor's rewording, or a line that
    # comes back after it was withdrawn keep their headline), then what is
    # left in order (so an edited line updates its headline in place).
    # Whatever is still left has left the document.
    by_imported_text = {h.source_digests.get("text"): h for h in reversed(everything)}
    pairs: dict[int, Headline] = {}
    for parsed in document.headlines:
        match = by_imported_text.pop(digest(parsed.text), None)
        if match is not None:
            pairs[parsed.position] = match
    paired = {headline.pk for headline in pairs.values()}
    leftover = [h for h in current if h.pk not in paired]
    for parsed in document.headlines:
        if parsed.position not in pairs and leftover:
            pairs[parsed.position] = leftover.pop(0)

    new_digests: list[str] = []
    moved = [h for p, h in pairs.items() if h.source_position != p]
    if moved or leftover:
        # Free the positions first: (source, position) is unique.
        Headline.objects.filter(pk__in=[h.pk for h in current]).update(
            source_position=None
        )
    report.headlines_moved = len(moved)
    for headline in leftover:
        headline.source_position = None
        if headline.status == Status.PUBLISHED:
            headline.unpublish()
            report.headlines_withdrawn += 1

    for parsed in document.headlines:
        values = {"text": parsed.text}
        headline = pairs.get(parsed.position)
        if headline is None and digest(parsed.text) in source.imported_digests:
            report.notes.append(
                f"headline {parsed.position} (line {parsed.line}) was deleted in "
                "the admin and is not recreated"
            )
            continue
        if headline is None:
            new_digests.append(digest(parsed.text))
            headline = Headline.objects.create(
                **values,
                status=Status.PUBLISHED,
                # A document lists its newest headline first; a millisecond
                # apart keeps that order in every newest-first list.
                published_at=now - timedelta(milliseconds=parsed.position),
                source=source,
                source_position=parsed.position,
                source_digests=_digests(values),
            )
            headline.tags.set(tagger.tags(parsed.text))
            report.headlines_created += 1
            continue
        changed, kept, redigested = _merge(headline, values)
        headline.source_position = parsed.position
        if changed:
            new_digests.append(digest(parsed.text))
            headline.save()
            headline.tags.add(*tagger.tags(parsed.text))
            report.headlines_updated += 1
        elif moved or leftover or redigested:
            headline.save(update_fields=["source_position", "source_digests"])
        if kept:
            report.notes.append(
                f"kept an editor's changes to headline {parsed.position} "
                f"(line {parsed.line})"
            )
    new_digests = [d for d in new_digests if d not in source.imported_digests]
    if new_digests:
        source.imported_digests = [*source.imported_digests, *new_digests]
        source.save(update_fields=["imported_digests"])


def _digests(values: dict[str, str]) -> dict[str, str]:
    return {name: digest(value) for name, value in values.items()}


def _merge(
    item: Article | Headline, values: dict[str, str]
) -> tuple[list[str], list[str], bool]:
    """
    Update ``item`` from the document where nobody has edited it since.

    Return the fields changed, the fields kept because an editor changed them
    (their text differs from what the last import wrote), and whether the
    record of what was imported changed.
    """
    imported = item.source_digests or {}
    changed, kept = [], []
    for name, value in values.items():
        current = getattr(item, name)
        if current == value:
            continue
        if imported.get(name) == digest(current):
            setattr(item, name, value)
            changed.append(name)
        else:
            kept.append(name)
    digests = _digests(values)
    redigested = imported != digests
    item.source_digests = digests
    return changed, kept, redigested
