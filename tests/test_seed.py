"""
The `seed` command and the parser/importer behind it (articles/seeding.py).

The command is run as an operator would run it, through `call_command`, and
each test checks what it prints as well as what it leaves in the database.
"""

import hashlib
import html
import io
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from articles.models import Article, Headline, SourceDocument, Status
from articles.rendering import render_markdown
from articles.seeding import (
    HEADLINE_TARGET_LENGTH,
    SMALL_WORDS,
    derive_headline,
    digest,
    headline_case,
    lead_sentence,
    plain_to_markdown,
)
from tests.conftest import SEED_DOCUMENT

# What the real document says, read here without the code under test.
SEED_BYTES = SEED_DOCUMENT.read_bytes()
SEED_TEXT = SEED_BYTES.decode("utf-8")
BODY_TEXT, HEADLINE_TEXT = SEED_TEXT.split("\n\n", 1)
PARAGRAPHS = BODY_TEXT.split("\n")
HEADLINES = [line.strip() for line in HEADLINE_TEXT.split("\n") if line.strip()]
LEAD = (
    "Chinese President Xi Jinping is set to host South Korean President Lee Jae "
    "Myung on a state visit beginning Sunday, highlighting Beijing’s strategic push "
    "to strengthen relations with Seoul amid heightened regional tensions involving "
    "Japan and Taiwan."
)
DERIVED_HEADLINE = (
    "Chinese President Xi Jinping to Host South Korean President Lee Jae Myung on "
    "a State Visit Beginning Sunday"
)


@dataclass
class Run:
    out: str
    err: str
    error: str | None  # the CommandError's message; None when the command succeeded


def seed(*paths, **options) -> Run:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("seed", *map(str, paths), stdout=out, stderr=err, **options)
    except CommandError as error:
        return Run(out.getvalue(), err.getvalue(), str(error))
    return Run(out.getvalue(), err.getvalue(), None)


def write_document(path, paragraphs, headlines, *, newline="\n", bom=False):
    text = newline.join([*paragraphs, "", *headlines]) + newline
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))


def snapshot():
    """Everything the importer may write, row by row."""
    return {
        "articles": list(Article.objects.order_by("pk").values()),
        "headlines": list(Headline.objects.order_by("pk").values()),
        "documents": list(SourceDocument.objects.order_by("pk").values()),
        "article_tags": sorted(
            Article.tags.through.objects.values_list("article_id", "tag_id")
        ),
        "headline_tags": sorted(
            Headline.tags.through.objects.values_list("headline_id", "tag_id")
        ),
    }


def tag_names(item):
    return {tag.name for tag in item.tags.all()}


@pytest.fixture
def document(seed_folder):
    """The path of the real document inside the editable seed folder."""
    return seed_folder / SEED_DOCUMENT.name


@pytest.fixture
def imported(vocabulary, seed_folder, document):
    """The real document, imported once."""
    result = seed(seed_folder)
    assert result.error is None, result.err
    return document


# 1. The real document.


def test_real_document_becomes_one_published_article_needing_review(
    vocabulary, seed_folder, document
):
    result = seed(seed_folder)

    assert result.error is None, result.err
    assert f"{document}: created (1 article, 17 headlines)\n" in result.out
    assert "Seeded: 1 created, 0 updated, 0 unchanged, 0 failed." in result.out
    assert Article.objects.count() == 1
    assert Headline.objects.count() == 17
    article = Article.objects.get()
    assert article.status == Status.PUBLISHED
    assert article.published_at is not None
    assert list(Article.objects.published()) == [article]
    assert article.needs_review is True
    assert article.headline == DERIVED_HEADLINE
    assert article.dek == LEAD
    assert len(PARAGRAPHS) == 5
    assert article.body == "\n\n".join(PARAGRAPHS)
    assert "highlighting Beijing’s strategic push" in article.body
    assert "strained Seoul–Beijing relations" in article.body
    assert article.body_html.count("<p>") == 5
    assert article.source.name == SEED_DOCUMENT.name
    assert article.source.sha256 == hashlib.sha256(SEED_BYTES).hexdigest()
    assert article.source.size == len(SEED_BYTES)


def test_real_document_headlines_are_its_trimmed_lines_in_order(
    vocabulary, seed_folder
):
    result = seed(seed_folder)

    assert result.error is None, result.err
    headlines = list(Headline.objects.order_by("source_position"))
    assert [headline.text for headline in headlines] == HEADLINES
    assert [headline.source_position for headline in headlines] == list(range(1, 18))
    # The file has a trailing space after the last headline; it is not stored.
    assert "Featuring Bad Bunny \n" in SEED_TEXT
    assert (
        headlines[-1].text == "Trump Slams Super Bowl Halftime Show Featuring Bad Bunny"
    )
    assert headlines[4].text == (
        "Trump Lifts 25% Tariff on Indian Goods in Strategic U.S.–India Trade and "
        "Energy Deal"
    )
    assert headlines[5].text == (
        "Trump Says “Very Good Talks” Underway on Russia-Ukraine War as Peace "
        "Efforts Continue"
    )
    assert set(Headline.objects.published()) == set(headlines)
    source = SourceDocument.objects.get()
    assert all(headline.source == source for headline in headlines)


def test_tagger_tags_the_article_and_each_headline(vocabulary, seed_folder):
    result = seed(seed_folder)

    assert result.error is None, result.err
    assert result.err == ""
    article = Article.objects.get()
    assert {"China", "South Korea", "Xi Jinping", "Lee Jae Myung"} <= tag_names(article)
    third = Headline.objects.get(source_position=3)
    assert {"China", "Taiwan", "Donald Trump", "United States"} <= tag_names(third)
    assert "South Korea" not in tag_names(third)
    last = Headline.objects.get(source_position=17)
    assert {"Donald Trump", "Super Bowl", "Bad Bunny"} <= tag_names(last)


def test_empty_vocabulary_warns_and_imports_untagged(db, seed_folder):
    result = seed(seed_folder)

    assert result.error is None, result.err
    assert "The tag vocabulary is empty" in result.err
    assert Article.objects.get().tags.count() == 0
    assert Headline.objects.count() == 17


# 2. Running it again.


def test_second_run_reports_unchanged_and_keeps_ids(imported, seed_folder):
    before = snapshot()

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert f"{imported}: unchanged\n" in result.out
    assert "Seeded: 0 created, 0 updated, 1 unchanged, 0 failed." in result.out
    assert snapshot() == before


# 3. Editing the document.


def test_edited_document_updates_the_same_rows_in_place(imported, seed_folder):
    article = Article.objects.get()
    second = Headline.objects.get(source_position=2)
    others = dict(
        Headline.objects.exclude(pk=second.pk).values_list("pk", "updated_at")
    )
    paragraphs = [*PARAGRAPHS]
    paragraphs[2] = "A rewritten third paragraph says officials in Moscow were silent."
    headlines = [*HEADLINES]
    headlines[1] = "Jack Lang Quits Arab World Institute Over Epstein Links"
    write_document(imported, paragraphs, headlines)

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert f"{imported}: updated;" in result.out
    assert "article body updated" in result.out
    assert "headlines: 1 updated" in result.out
    assert "Seeded: 0 created, 1 updated, 0 unchanged, 0 failed." in result.out
    updated = Article.objects.get()
    assert updated.pk == article.pk
    assert updated.body == "\n\n".join(paragraphs)
    assert "officials in Moscow were silent" in updated.body_html
    assert "strained Seoul–Beijing relations" not in updated.body_html
    assert (updated.headline, updated.dek) == (article.headline, article.dek)
    assert "Russia" in tag_names(updated)  # tags follow the new text
    assert Headline.objects.count() == 17
    second.refresh_from_db()
    assert second.text == headlines[1]
    assert second.status == Status.PUBLISHED
    assert (
        dict(Headline.objects.exclude(pk=second.pk).values_list("pk", "updated_at"))
        == others
    )


def test_removed_headline_line_is_withdrawn_not_deleted(imported, seed_folder):
    removed = Headline.objects.get(source_position=4)
    kept_ids = {
        headline.text: headline.pk
        for headline in Headline.objects.exclude(pk=removed.pk)
    }
    write_document(imported, PARAGRAPHS, [*HEADLINES[:3], *HEADLINES[4:]])

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert f"{imported}: updated;" in result.out
    assert "1 withdrawn" in result.out
    assert Headline.objects.count() == 17
    removed.refresh_from_db()
    assert removed.text == HEADLINES[3]
    assert removed.status == Status.UNPUBLISHED
    assert removed not in Headline.objects.published()
    public = Headline.objects.published().order_by("source_position")
    assert [headline.text for headline in public] == [*HEADLINES[:3], *HEADLINES[4:]]
    assert {headline.text: headline.pk for headline in public} == kept_ids
    assert [headline.source_position for headline in public] == list(range(1, 17))


def test_added_headline_line_creates_a_published_headline(imported, seed_folder):
    ids = set(Headline.objects.values_list("pk", flat=True))
    write_document(imported, PARAGRAPHS, [*HEADLINES, "Ohio Opens a New Bridge"])

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert "headlines: 1 created" in result.out
    assert Headline.objects.count() == 18
    new = Headline.objects.exclude(pk__in=ids).get()
    assert new.text == "Ohio Opens a New Bridge"
    assert new.source_position == 18
    assert new.is_public
    assert tag_names(new) == {"Ohio"}
    assert set(
        Headline.objects.filter(pk__in=ids).values_list("status", flat=True)
    ) == {Status.PUBLISHED}


def test_reordered_headline_lines_keep_their_ids(imported, seed_folder):
    ids = dict(Headline.objects.values_list("text", "pk"))
    write_document(imported, PARAGRAPHS, HEADLINES[::-1])

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert "Seeded: 0 created, 1 updated" in result.out
    assert "headlines: 16 moved" in result.out  # the middle one stays put
    assert Headline.objects.count() == 17
    headlines = Headline.objects.order_by("source_position")
    assert [headline.text for headline in headlines] == HEADLINES[::-1]
    assert dict(Headline.objects.values_list("text", "pk")) == ids
    assert all(headline.is_public for headline in headlines)


# 4. Editors' changes.


def test_editors_changes_survive_reimport(imported, seed_folder):
    article = Article.objects.get()
    article.headline = "Xi Welcomes Lee as Seoul Seeks Balance"
    article.save()
    third = Headline.objects.get(source_position=3)
    third.text = "China Warns Against US Arms Sales to Taiwan"
    third.save()
    tenth = Headline.objects.get(source_position=10)
    paragraphs = [*PARAGRAPHS]
    paragraphs[1] = "A new second paragraph from the wire."
    headlines = [*HEADLINES]
    headlines[2] = "China Says US Arms Sales to Taiwan Threaten Trump Visit"
    headlines[9] = "US Lawmakers Begin Reviewing Unredacted Epstein Files"
    write_document(imported, paragraphs, headlines)

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert "kept an editor's changes to the article headline" in result.out
    third_line = len(paragraphs) + 1 + 3  # the body, one blank line, headline 3
    assert f"kept an editor's changes to headline 3 (line {third_line})" in result.out
    article.refresh_from_db()
    assert article.headline == "Xi Welcomes Lee as Seoul Seeks Balance"
    assert article.body == "\n\n".join(paragraphs)
    assert article.dek == LEAD
    third.refresh_from_db()
    assert third.text == "China Warns Against US Arms Sales to Taiwan"
    assert third.source_position == 3
    assert third.is_public
    tenth.refresh_from_db()
    assert tenth.text == "US Lawmakers Begin Reviewing Unredacted Epstein Files"
    assert Headline.objects.count() == 17

    again = seed(seed_folder)

    assert again.error is None, again.err
    assert "kept an editor's changes to the article headline" in again.out
    article.refresh_from_db()
    third.refresh_from_db()
    assert article.headline == "Xi Welcomes Lee as Seoul Seeks Balance"
    assert third.text == "China Warns Against US Arms Sales to Taiwan"


# 5. Dry runs.


def test_dry_run_on_an_empty_database_reports_and_writes_nothing(
    vocabulary, seed_folder, document
):
    result = seed(seed_folder, dry_run=True)

    assert result.error is None, result.err
    assert f"{document}: would be created (1 article, 17 headlines)" in result.out
    assert (
        "Dry run, nothing written: 1 created, 0 updated, 0 unchanged, 0 failed."
        in result.out
    )
    assert Article.objects.count() == 0
    assert Headline.objects.count() == 0
    assert SourceDocument.objects.count() == 0


def test_dry_run_with_an_edited_document_changes_nothing(imported, seed_folder):
    paragraphs = [*PARAGRAPHS]
    paragraphs[4] = "A new closing paragraph."
    write_document(imported, paragraphs, HEADLINES[1:])
    before = snapshot()

    result = seed(seed_folder, dry_run=True)

    assert result.error is None, result.err
    assert f"{imported}: would be updated;" in result.out
    assert "article body updated" in result.out
    assert "1 withdrawn" in result.out
    assert "Dry run, nothing written: 0 created, 1 updated" in result.out
    assert snapshot() == before

    real = seed(seed_folder)

    assert real.error is None, real.err
    assert f"{imported}: updated;" in real.out
    assert Article.objects.get().body == "\n\n".join(paragraphs)


# 6. Byte-order marks and line endings.


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_bom_and_crlf_are_read_and_never_stored(vocabulary, document, newline):
    write_document(document, PARAGRAPHS, HEADLINES, newline=newline, bom=True)
    assert document.read_bytes().startswith(b"\xef\xbb\xbf")

    result = seed(document)

    assert result.error is None, result.err
    article = Article.objects.get()
    assert article.headline == DERIVED_HEADLINE
    assert article.dek == LEAD
    assert article.body == "\n\n".join(PARAGRAPHS)
    headlines = Headline.objects.order_by("source_position")
    assert [headline.text for headline in headlines] == HEADLINES
    stored = [
        *Article.objects.values_list("headline", "slug", "dek", "body", "body_html"),
        *Headline.objects.values_list("text", "slug"),
        *SourceDocument.objects.values_list("name"),
    ]
    for text in (text for row in stored for text in row):
        assert "\ufeff" not in text
        assert "\r" not in text


def test_converting_line_endings_is_not_a_change(imported, seed_folder):
    before = snapshot()
    write_document(imported, PARAGRAPHS, HEADLINES, newline="\r\n", bom=True)

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert f"{imported}: unchanged\n" in result.out
    after = snapshot()
    for key in ("articles", "headlines", "article_tags", "headline_tags"):
        assert after[key] == before[key]


# 7. Malformed and hostile input.

BAD_DOCUMENTS = [
    pytest.param(
        b"Line one.\nLine two.\nCaf\xe9 society returns.\n\nHeadline\n",
        3,
        "is not UTF-8: byte 0xe9",
        id="latin-1",
    ),
    pytest.param(
        "\ufeffBody.\n\nHeadline\n".encode("utf-16"),
        None,
        "is UTF-16 text, not UTF-8; save it as UTF-8",
        id="utf-16",
    ),
    pytest.param(b"Body.\n\nHead\x00line\n", 3, "is a binary file", id="nul-byte"),
    pytest.param(b"", None, "is empty", id="empty"),
    pytest.param(b"  \n\t\n\r\n   ", None, "is empty", id="whitespace-only"),
    pytest.param(
        "\u00a0\n\u3000\n".encode(), None, "has no text", id="unicode-whitespace-only"
    ),
    pytest.param(
        b"First paragraph.\nSecond paragraph.\n",
        2,
        "has a body but no headline list",
        id="no-list",
    ),
    pytest.param(
        b"\nFirst headline\nSecond headline\n",
        1,
        "starts with a blank line",
        id="no-body",
    ),
    pytest.param(
        b"Body.\n\nAlarm\x07 Headline\n", 3, "control character U+0007", id="bell"
    ),
    pytest.param(
        b"Body.\r\n\r\nHead \x1b[31mred\x1b[0m\r\n",
        3,
        "control character U+001B",
        id="escape-crlf",
    ),
    pytest.param(
        "Body.\n\nNext\u0085Line\n".encode(), 3, "control character U+0085", id="c1"
    ),
    pytest.param(
        b"Body.\n\nFine\n" + b"word " * 60 + b"long\n",
        4,
        "headline is 304 characters, over the limit of 300",
        id="long-headline",
    ),
    pytest.param(
        b"Body.\n\nSame headline\nOther headline\nSame headline\n",
        5,
        "repeats the headline on line 3",
        id="duplicate",
    ),
    pytest.param(
        b"Body.\n\nHeadline\n\nEditor's note: stray text\n",
        5,
        "has text after the headline list",
        id="text-after-list",
    ),
]


@pytest.mark.parametrize("content, line, message", BAD_DOCUMENTS)
@pytest.mark.parametrize("target", ["edited", "new"])
def test_malformed_document_is_refused_and_changes_nothing(
    imported, seed_folder, target, content, line, message
):
    path = imported if target == "edited" else seed_folder / "zzz_new.txt"
    path.write_bytes(content)
    before = snapshot()

    result = seed(seed_folder)

    assert result.error is not None
    assert "1 failed" in result.error
    assert "Traceback" not in result.err
    where = f"{path}:{line}: " if line else f"{path}: "
    assert f"{where}{message}" in result.err
    assert snapshot() == before
    assert not Headline.objects.filter(text__contains="\ufffd").exists()
    assert not Article.objects.filter(body__contains="\ufffd").exists()


def test_headline_of_exactly_300_characters_is_accepted(vocabulary, tmp_path):
    text = ("word " * 60)[:299] + "x"
    assert len(text) == 300
    (tmp_path / "a.txt").write_text(f"Body.\n\n{text}\n", encoding="utf-8")

    result = seed(tmp_path)

    assert result.error is None, result.err
    assert Headline.objects.get().text == text


def test_document_over_the_size_limit_is_refused(imported, seed_folder, settings):
    before = snapshot()
    settings.NEWSROOM_SEED_MAX_BYTES = len(SEED_BYTES) - 1

    result = seed(seed_folder)

    assert result.error is not None
    assert (
        f"{imported}: is {len(SEED_BYTES):,} bytes, over the limit of "
        f"{len(SEED_BYTES) - 1:,} (NEWSROOM_SEED_MAX_BYTES)"
    ) in result.err
    assert snapshot() == before


def test_document_exactly_at_the_size_limit_is_imported(
    vocabulary, seed_folder, settings
):
    settings.NEWSROOM_SEED_MAX_BYTES = len(SEED_BYTES)

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert Article.objects.count() == 1


def test_two_megabyte_document_is_refused_under_the_default_limit(db, tmp_path):
    assert settings.NEWSROOM_SEED_MAX_BYTES == 1024 * 1024
    path = tmp_path / "big.txt"
    path.write_bytes(b"Word " * 400_000 + b"\n\nHeadline\n")
    assert path.stat().st_size > 2_000_000

    result = seed(path)

    assert result.error is not None
    assert f"{path}: is 2,000,011 bytes, over the limit of 1,048,576" in result.err
    assert Article.objects.count() == 0
    assert Headline.objects.count() == 0
    assert SourceDocument.objects.count() == 0


def _link_outside(folder, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(SEED_BYTES)
    (folder / "link.txt").symlink_to(outside)
    return folder, folder / "link.txt"


def _broken_link(folder, tmp_path):
    (folder / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    return folder, folder / "gone.txt"


def _dot_dot(folder, tmp_path):
    path = folder / ".." / folder.name
    return path, path


def _missing(folder, tmp_path):
    return folder / "missing.txt", folder / "missing.txt"


def _no_documents(folder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_bytes(SEED_BYTES)
    (empty / ".hidden.txt").write_bytes(SEED_BYTES)
    return empty, empty


def _fifo(folder, tmp_path):
    os.mkfifo(folder / "x.txt")
    return folder, folder / "x.txt"


@pytest.mark.parametrize(
    "make_path, message",
    [
        pytest.param(_link_outside, "is a link to", id="symlink-outside"),
        pytest.param(_broken_link, "is a broken link", id="broken-symlink"),
        pytest.param(_dot_dot, "refusing a path that contains “..”", id="dot-dot"),
        pytest.param(_missing, "no such file or folder", id="missing"),
        pytest.param(_no_documents, "No documents (*.txt) in", id="no-documents"),
        pytest.param(_fifo, "is not a regular file", id="fifo"),
    ],
)
def test_unsafe_or_missing_path_is_refused_and_changes_nothing(
    imported, seed_folder, tmp_path, make_path, message
):
    given, named = make_path(seed_folder, tmp_path)
    before = snapshot()

    result = seed(given)

    # A bad command line stops at once; a bad document among good ones is
    # reported on stderr while the others are still imported.
    assert result.error is not None
    reported = result.err + result.error
    assert str(named) in reported
    assert message in reported
    assert "Traceback" not in result.err
    assert snapshot() == before


def test_failure_exits_non_zero_without_a_traceback(tmp_path):
    missing = tmp_path / "missing.txt"

    completed = subprocess.run(
        [sys.executable, "manage.py", "seed", str(missing)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 1
    assert (
        completed.stderr.strip() == f"CommandError: {missing}: no such file or folder"
    )
    assert "Traceback" not in completed.stderr


# 8. All or nothing per document; carrying on past a bad one.


def test_good_document_is_imported_when_another_is_bad(vocabulary, tmp_path):
    (tmp_path / "a_bad.txt").write_bytes(b"Body.\n\nAlarm\x07 Headline\n")
    (tmp_path / "b_good.txt").write_bytes(SEED_BYTES)

    result = seed(tmp_path)

    assert result.error == "Seeded: 1 created, 0 updated, 0 unchanged, 1 failed."
    assert f"{tmp_path / 'a_bad.txt'}:3: control character U+0007" in result.err
    assert f"{tmp_path / 'b_good.txt'}: created (1 article, 17 headlines)" in result.out
    assert SourceDocument.objects.get().name == "b_good.txt"
    assert Article.objects.count() == 1
    assert Headline.objects.count() == 17


def test_fail_fast_stops_at_the_first_bad_document(vocabulary, tmp_path):
    (tmp_path / "a_bad.txt").write_bytes(b"Body.\n\nAlarm\x07 Headline\n")
    (tmp_path / "b_good.txt").write_bytes(SEED_BYTES)

    result = seed(tmp_path, fail_fast=True)

    assert result.error == "Seeded: 0 created, 0 updated, 0 unchanged, 1 failed."
    assert f"{tmp_path / 'a_bad.txt'}:3: control character U+0007" in result.err
    assert "b_good.txt" not in result.out + result.err
    assert Article.objects.count() == 0
    assert Headline.objects.count() == 0
    assert SourceDocument.objects.count() == 0


def test_database_failure_midway_leaves_nothing_of_that_document(
    vocabulary, seed_folder, document, make_headline, monkeypatch
):
    # Another writer takes the slug the tenth headline is about to get.
    taken = make_headline(slug="taken")
    from articles import models

    real_unique_slug = models.unique_slug
    calls = []

    def racing_unique_slug(model, text, **kwargs):
        calls.append(text)
        if len(calls) == 11:  # the article, then the tenth headline
            return "taken"
        return real_unique_slug(model, text, **kwargs)

    monkeypatch.setattr(models, "unique_slug", racing_unique_slug)

    result = seed(seed_folder)

    assert calls[10] == HEADLINES[9]
    assert result.error == "Seeded: 0 created, 0 updated, 0 unchanged, 1 failed."
    assert f"{document}: the database refused it:" in result.err
    assert "Traceback" not in result.err
    assert Article.objects.count() == 0
    assert SourceDocument.objects.count() == 0
    assert list(Headline.objects.all()) == [taken]


# 9. Markup in the text.

SCRIPT = "<script>alert(1)</script>"


def test_markup_is_stored_as_plain_text_and_never_runs(vocabulary, tmp_path, client):
    paragraphs = [
        "Officials confirmed the visit on Monday.",
        f"Someone typed {SCRIPT} and <img src=x onerror=alert(2)> here.",
    ]
    write_document(tmp_path / "a.txt", paragraphs, [f"{SCRIPT} Headline"])

    result = seed(tmp_path)

    assert result.error is None, result.err
    assert Headline.objects.get().text == f"{SCRIPT} Headline"
    article = Article.objects.get()
    assert "<script" not in article.body_html
    assert "<img" not in article.body_html
    assert "&lt;script&gt;alert(1)" in article.body_html
    page = client.get(article.get_absolute_url()).content.decode()
    listing = client.get("/headlines/").content.decode()
    for served in (page, listing):
        assert SCRIPT not in served
        assert "alert(2)>" not in served
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Headline" in listing


# The pure helpers.


@pytest.mark.parametrize(
    "paragraph, sentence",
    [
        (PARAGRAPHS[0], LEAD),
        (
            "The U.S. economy grew 3.5% last year. Analysts were surprised.",
            "The U.S. economy grew 3.5% last year.",
        ),
        (
            "Mr. Smith went to Washington on Monday. He left on Tuesday.",
            "Mr. Smith went to Washington on Monday.",
        ),
        ("J.D. Vance spoke first. Others followed.", "J.D. Vance spoke first."),
        (
            "“We will win,” she said. “Nobody doubts it.”",
            "“We will win,” she said.",
        ),
        ("Is this the end? Nobody knows.", "Is this the end?"),
        ("No full stop at all", "No full stop at all"),
    ],
)
def test_lead_sentence_does_not_stop_at_abbreviations(paragraph, sentence):
    assert lead_sentence(paragraph) == sentence


@pytest.mark.parametrize(
    "text, cased",
    [
        ("rise and fall of an empire", "Rise and Fall of an Empire"),
        ("a deal worth fighting for", "A Deal Worth Fighting For"),
        ("the U.S. and iPhone sales", "The U.S. and iPhone Sales"),
        ("a long-standing dispute over k-pop", "A Long-Standing Dispute Over K-Pop"),
        ("state-of-the-art chips", "State-of-the-Art Chips"),
        ("in-depth look at the war", "In-Depth Look at the War"),
        (
            "trump says “very good talks” on trade",
            "Trump Says “Very Good Talks” on Trade",
        ),
        ("40% of voters in 2026", "40% of Voters in 2026"),
    ],
)
def test_headline_case_lowercases_small_words_except_first_and_last(text, cased):
    assert headline_case(text) == cased


def test_headline_case_capitalises_a_small_word_ending_the_headline():
    assert headline_case("students stage a sit-in") == "Students Stage a Sit-In"


@pytest.mark.parametrize(
    "lead, headline",
    [
        (LEAD, DERIVED_HEADLINE),
        (
            "The council will vote on the new budget on Tuesday.",
            "The Council to Vote on the New Budget on Tuesday",
        ),
        (
            "Officials in the capital announced new measures, citing rising costs.",
            "Officials in the Capital Announced New Measures",
        ),
        (
            "In Paris, the mayor said the river is clean.",
            "In Paris, the Mayor Said the River Is Clean",
        ),
        (
            "Prices are expected to rise sharply in the coming months.",
            "Prices to Rise Sharply in the Coming Months",
        ),
    ],
)
def test_derive_headline_keeps_the_main_clause_in_headline_style(lead, headline):
    assert derive_headline(lead, max_length=200) == headline


@pytest.mark.parametrize("max_length", [200, 40])
def test_derive_headline_shortens_a_long_lead_at_a_word_boundary(max_length):
    lead = (
        "Regional leaders gathered in the northern city for a long meeting about "
        "water rights and the future of the river that feeds the farms of the "
        "valley and the towns along it."
    )
    headline = derive_headline(lead, max_length=max_length)

    assert len(headline) <= min(max_length, HEADLINE_TARGET_LENGTH)
    assert len(headline) > min(max_length, HEADLINE_TARGET_LENGTH) - 20
    assert lead.lower().startswith(headline.lower() + " ")
    assert headline.split()[-1].lower() not in SMALL_WORDS


def test_derive_headline_leaves_the_noun_will_alone():
    headline = derive_headline(
        "The will of the people prevailed in the referendum.", max_length=200
    )

    assert headline == "The Will of the People Prevailed in the Referendum"


@pytest.mark.parametrize(
    "paragraph", ["1. First, the facts.", "1) First, the facts.", "# Not a heading"]
)
def test_plain_to_markdown_keeps_list_and_heading_lookalikes_as_paragraphs(
    paragraph,
):
    rendered = render_markdown(plain_to_markdown(paragraph))

    assert rendered == f"<p>{html.escape(paragraph, quote=False)}</p>"


@pytest.mark.parametrize(
    "paragraph",
    [
        "- a dash",
        "+ a plus",
        "> a quote",
        "--- rule",
        "| a | b |",
        "*stars* and _underscores_ stay",
        "[link](https://example.com) and ![image](x.png)",
        "`code` and back\\slash",
        "AT&T and &amp; and &copy; as typed",
        "Shares rose 2.5 percent.",
        "Bold <b>tags</b> as typed",
        "= a leading equals sign",
    ],
)
def test_plain_to_markdown_renders_text_as_typed(paragraph):
    rendered = render_markdown(plain_to_markdown(paragraph))

    assert rendered == f"<p>{html.escape(paragraph, quote=False)}</p>"


# Found while writing these tests: each was a bug, now fixed.


def test_import_records_what_it_wrote_for_each_field(vocabulary, seed_folder):
    result = seed(seed_folder)

    assert result.error is None, result.err
    article = Article.objects.get()
    assert set(article.source_digests) == {"headline", "dek", "body"}
    assert article.source_digests["body"] == digest(article.body)
    headline = Headline.objects.get(source_position=1)
    assert headline.source_digests == {"text": digest(headline.text)}


def test_line_added_after_a_withdrawal_is_published(imported, seed_folder):
    write_document(imported, PARAGRAPHS, HEADLINES[:-1])
    assert seed(seed_folder).error is None
    write_document(imported, PARAGRAPHS, [*HEADLINES[:-1], "Ohio Opens a New Bridge"])

    result = seed(seed_folder)

    assert result.error is None, result.err
    new = Headline.objects.get(text="Ohio Opens a New Bridge")
    assert new.is_public
    assert "1 created" in result.out


def test_editors_headline_survives_removal_of_an_earlier_line(imported, seed_folder):
    fifth = Headline.objects.get(source_position=5)
    fifth.text = "Trump Drops Tariff on Indian Goods in Trade Deal"
    fifth.save()
    third = Headline.objects.get(source_position=3)
    write_document(imported, PARAGRAPHS, [*HEADLINES[:2], *HEADLINES[3:]])

    result = seed(seed_folder)

    assert result.error is None, result.err
    fifth.refresh_from_db()
    third.refresh_from_db()
    assert fifth.text == "Trump Drops Tariff on Indian Goods in Trade Deal"
    assert fifth.is_public
    assert third.text == HEADLINES[2]
    assert third.status == Status.UNPUBLISHED


def test_lead_with_no_words_does_not_give_an_empty_headline(vocabulary, tmp_path):
    (tmp_path / "a.txt").write_text("!!!\n\nHeadline\n", encoding="utf-8")

    seed(tmp_path)

    assert not Article.objects.filter(headline="").exists()


def test_byte_order_mark_inside_the_document_is_not_stored(vocabulary, tmp_path):
    (tmp_path / "a.txt").write_bytes(
        b"\xef\xbb\xbfBody.\n\n\xef\xbb\xbfFirst headline\nSecond headline\n"
    )

    seed(tmp_path)

    assert not Headline.objects.filter(text__contains="\ufeff").exists()


def test_two_documents_with_the_same_name_are_not_mixed_up(vocabulary, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "doc.txt").write_text(
            f"Body from folder {folder}.\n\nHeadline from {folder}\n", encoding="utf-8"
        )
    result = seed(tmp_path / "a", tmp_path / "b")
    assert result.error is not None
    assert "has the same file name as" in result.err
    assert list(Headline.objects.values_list("text", flat=True)) == ["Headline from a"]


def test_items_an_editor_deleted_are_not_recreated(imported, seed_folder):
    Article.objects.get().delete()
    Headline.objects.get(source_position=3).delete()

    result = seed(seed_folder)

    assert result.error is None, result.err
    assert Article.objects.count() == 0
    assert Headline.objects.count() == 16
    assert "was deleted in the admin and is not recreated" in result.out
