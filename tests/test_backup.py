"""
Backing up and restoring the whole archive (`manage.py backup` and
`manage.py restore`, articles/backups.py): every row comes back exactly, the
restored site works (search, pages, sign-in, roles, tokens), and a restore
that is refused or fails midway leaves the database as it was.

These tests commit for real (a restore is one transaction of its own), so
they run on a transactional database.
"""

import gzip
import hashlib
import io
import json
import os
import stat
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.core.serializers.python import Deserializer
from django.db import connection, connections
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from reversion.models import Revision, Version

from articles import backups
from articles.models import (
    Article,
    Correction,
    Headline,
    SourceDocument,
    Status,
    Tag,
    Transition,
    Withdrawal,
)
from articles.roles import CHIEF_EDITOR, EDITOR, REPORTER
from tests.test_workflow import (
    PASSWORD,
    admin_action,
    admin_for,
    admin_save,
    api_for,
    api_url,
)

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()

# Every table a backup holds, listed here rather than taken from the code
# under test (test_every_table_of_the_archive_is_compared checks the list).
TABLES = [
    User,
    User.groups.through,
    User.user_permissions.through,
    Group,
    Group.permissions.through,
    Token,
    Tag,
    SourceDocument,
    Article,
    Article.tags.through,
    Headline,
    Headline.tags.through,
    Correction,
    Transition,
    Withdrawal,
    Revision,
    Version,
    LogEntry,
]
# What the seed document's story is about (and its headline says).
STORY_WORD = "Jinping"


def every_row() -> dict[str, list[dict]]:
    """
    Every row of every backed-up table, column by column; content types and
    permissions by name, since each database numbers them its own way.
    """
    content_types = {
        ct.pk: (ct.app_label, ct.model) for ct in ContentType.objects.all()
    }
    permissions = {
        permission.pk: (permission.content_type.app_label, permission.codename)
        for permission in Permission.objects.select_related("content_type")
    }
    snapshot = {}
    for model in TABLES:
        rows = list(model._base_manager.order_by("pk").values())
        for field in model._meta.concrete_fields:
            names = {ContentType: content_types, Permission: permissions}.get(
                field.related_model
            )
            if names is not None:
                for row in rows:
                    value = row[field.attname]
                    row[field.attname] = None if value is None else names[value]
        snapshot[model._meta.label] = rows
    return snapshot


def empty_database() -> None:
    """
    Make this an empty, freshly migrated database: no content, the role
    groups, and content types and permissions numbered past every id they
    had before (as another database numbers them its own way).
    """
    highest = ContentType.objects.aggregate(highest=Max("pk"))["highest"]
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.all().delete()
    ContentType.objects.bulk_create(
        ContentType(app_label="spacer", model=str(number)) for number in range(highest)
    )
    ContentType.objects.all().delete()
    ContentType.objects.clear_cache()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")


def backup(path) -> str:
    out = io.StringIO()
    call_command("backup", str(path), stdout=out)
    return out.getvalue()


def restore(path, **options) -> str:
    out = io.StringIO()
    call_command("restore", str(path), stdout=out, **options)
    return out.getvalue()


def searched(client, words: str) -> list[str]:
    response = client.get(reverse("articles:search"), {"q": words})
    assert response.status_code == 200
    return [
        getattr(item, "headline", None) or item.text
        for item in response.context["results"]
    ]


# The archive: everything a newsroom leaves behind.


@pytest.fixture
def people(django_user_model):
    def person(username, role=None, **fields):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, is_staff=True, **fields
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "reporter": person("rita", REPORTER, first_name="Rita"),
        "editor": person("edna", EDITOR, email="edna@example.org"),
        "chief": person("carl", CHIEF_EDITOR),
        "root": person("root", is_superuser=True),
    }


@pytest.fixture
def archive(vocabulary, seed_folder, people, make_article):
    """
    A seeded archive worked on by every role, through the admin and the API:
    revisions, transitions, withdrawals, corrections, the admin's log, a
    token, a user's own permission, a scheduled story and a Unicode slug.
    """
    call_command("seed", str(seed_folder), verbosity=0)
    reporter, editor, chief = people["reporter"], people["editor"], people["chief"]
    chief.user_permissions.add(Permission.objects.get(codename="view_withdrawal"))
    admin_for(people["root"])  # signs in: a last_login to keep

    # A reporter writes and submits a draft through the API; an editor edits
    # it in the admin and publishes it in bulk.
    created = api_for(reporter).post(
        api_url(Article),
        {"headline": "Ferry timetable changes", "body": "From Monday, in Québec."},
        format="json",
    )
    assert created.status_code == 201, created.content
    draft = Article.objects.get(slug=created.json()["slug"])
    submitted = api_for(reporter).patch(
        api_url(draft), {"status": Status.REVIEW}, format="json"
    )
    assert submitted.status_code == 200, submitted.content
    edited = admin_save(admin_for(editor), draft, dek="The winter timetable.")
    assert edited.status_code == 200
    admin_action(admin_for(editor), Article, "publish_selected", [draft])

    # The seeded story: edited through the API, corrected, its headlines
    # partly withdrawn, one developed into a story, one deleted.
    story = Article.objects.get(source__isnull=False)
    patched = api_for(editor).patch(
        api_url(story), {"byline": "Newsroom staff"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    Correction.objects.create(
        article=story, text="The visit begins on Sunday.", created_by=editor
    )
    headlines = list(Headline.objects.order_by("source_position"))
    admin_action(admin_for(editor), Headline, "unpublish_selected", headlines[:2])
    admin_action(admin_for(editor), Headline, "develop_into_story", [headlines[2]])
    deleted = admin_for(chief).post(
        reverse("admin:articles_headline_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [headlines[3].pk],
            "post": "yes",
        },
    )
    assert deleted.status_code == 302

    later = timezone.now() + timedelta(days=1)
    make_article(
        headline="Embargoed budget", status=Status.PUBLISHED, published_at=later,
        embargo_until=later, created_by=editor,
    )  # fmt: skip
    make_article(headline="Québec ferries resume", slug="québec-ferries")
    return people


def test_every_table_of_the_archive_is_compared(archive):
    for label in ("articles", "reversion", "authtoken"):
        config = apps.get_app_config(label)
        for model in config.get_models(include_auto_created=True):
            assert model._meta.proxy or model in TABLES, model
    empty = [name for name, rows in every_row().items() if not rows]
    assert empty == []  # the archive exercises every table


# The round trip.


def test_restore_into_an_empty_database_brings_back_every_row_exactly(
    archive, tmp_path
):
    before = every_row()
    numbered = ContentType.objects.get_for_model(Article).pk
    path = tmp_path / "archive.jsonl.gz"
    said = backup(path)

    empty_database()
    assert Article.objects.count() == 0
    assert User.objects.count() == 0
    assert ContentType.objects.get_for_model(Article).pk > numbered
    restored = restore(path)

    assert every_row() == before
    rows = sum(len(table) for table in before.values())
    assert said.startswith(f"Backed up {rows:,} rows to {path}: ")
    assert f"{len(before['articles.Article'])} articles.article" in said
    assert restored.startswith(f"Restored {rows:,} rows from {path} (backed up ")


def test_an_uncompressed_backup_round_trips_too(archive, tmp_path):
    before = every_row()
    path = tmp_path / "archive.jsonl"
    backup(path)
    assert json.loads(path.read_text().splitlines()[0])["format"] == "newsroom-backup"

    empty_database()
    restore(path)

    assert every_row() == before


def test_backup_to_standard_output_writes_the_file_and_reports_aside(archive, tmp_path):
    before = every_row()
    out, err = io.StringIO(), io.StringIO()
    call_command("backup", "-", stdout=out, stderr=err)
    path = tmp_path / "piped.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")

    assert err.getvalue().startswith("Backed up ")
    empty_database()
    restore(path)
    assert every_row() == before


def test_the_restored_site_works(archive, tmp_path, client):
    token = Token.objects.get(user__username="edna").key
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    empty_database()

    restore(path)

    story = Article.objects.get(source__isnull=False)
    # Readers: the story's page, its correction, the lists and search.
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200
    assert "The visit begins on Sunday." in page.content.decode()
    assert story.headline in client.get(reverse("articles:front")).content.decode()
    assert searched(client, STORY_WORD) == [story.headline]
    assert sorted(searched(client, "Québec")) == [
        "Ferry timetable changes",
        "Québec ferries resume",
    ]
    assert client.get("/articles/québec-ferries/").status_code == 200
    # People: passwords, roles and tokens still work.
    signed_in = Client().post(
        reverse("admin:login"), {"username": "edna", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    edited = Client().patch(
        api_url(story),
        {"dek": "Updated after the restore."},
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert edited.status_code == 200, edited.content
    chief = admin_for(User.objects.get(username="carl"))
    history = chief.get(reverse("admin:articles_article_history", args=[story.pk]))
    assert history.status_code == 200
    revisions = Version.objects.get_for_object(story).count()
    assert len(history.context["versions"]) == revisions > 1


def test_new_rows_after_a_restore_get_new_ids(archive, tmp_path, make_article):
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    highest = {model: model.objects.order_by("-pk")[0].pk for model in (Article, Tag)}
    empty_database()
    restore(path)

    story = make_article(headline="After the restore")
    tag = Tag.objects.create(name="Ferries", slug="ferries")

    assert story.pk > highest[Article]
    assert tag.pk > highest[Tag]


def test_backup_file_is_readable_by_its_owner_only(archive, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    path = folder / "archive.jsonl.gz"
    path.write_bytes(b"an older file anyone could read")
    path.chmod(0o644)
    umask = os.umask(0o022)
    try:
        backup(path)
    finally:
        os.umask(umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["archive.jsonl.gz"]  # no leftovers
    header = json.loads(gzip.open(path, "rt").readline())
    assert (header["format"], header["version"]) == ("newsroom-backup", 1)
    assert header["migrations"]["articles"][0] == "0001_initial"
    assert header["rows"]["auth.user"] == 4


def test_backup_onto_a_folder_is_refused_by_name(db, tmp_path):
    with pytest.raises(CommandError, match="cannot write there"):
        backup(tmp_path)
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's test database is in memory, where a reader locks writers "
    "out; a database file in WAL mode lets them write beside the backup",
)
def test_writes_during_a_backup_are_not_in_it_and_do_not_tear_it(
    archive, tmp_path, monkeypatch
):
    before = every_row()
    real_rows = backups._rows
    written = []

    def write_elsewhere():
        # Another app server's connection, committing at once.
        try:
            story = Article.objects.create(headline="Written meanwhile", body="Late.")
            Tag.objects.create(name="Meanwhile", slug="meanwhile")
            written.append(story)
        finally:
            connections.close_all()

    def rows_with_a_write_between(model, using):
        if model is Article and not written:
            writer = threading.Thread(target=write_elsewhere)
            writer.start()
            writer.join(timeout=30)
        return real_rows(model, using)

    monkeypatch.setattr(backups, "_rows", rows_with_a_write_between)
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    monkeypatch.undo()
    assert written and Article.objects.filter(headline="Written meanwhile").exists()

    empty_database()
    restore(path)

    assert every_row() == before


# Refusals: the database stays as it was.


def test_restore_into_a_database_with_content_needs_replace(archive, tmp_path):
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    Article.objects.filter(headline="Embargoed budget").delete()
    before = every_row()

    with pytest.raises(CommandError) as refusal:
        restore(path)

    assert "already holds content" in str(refusal.value)
    assert "--replace" in str(refusal.value)
    assert every_row() == before


def test_replace_puts_back_exactly_what_was_backed_up(archive, tmp_path, client):
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    before = every_row()
    # Work goes on after the backup.
    Article.objects.create(headline="Zeppelin lands", body="Zeppelin.", slug="zep")
    Tag.objects.filter(slug="china").update(name="PRC")
    User.objects.create_user("newcomer")
    Headline.objects.first().delete()
    assert searched(client, "zeppelin") == []  # a draft: nobody reads it yet
    Article.objects.filter(slug="zep").update(
        status=Status.PUBLISHED, published_at=timezone.now()
    )
    assert searched(client, "zeppelin") == ["Zeppelin lands"]

    restore(path, replace=True)

    assert every_row() == before
    assert searched(client, "zeppelin") == []
    assert client.get("/articles/zep/").status_code == 404


def test_restore_signs_everyone_out(archive, tmp_path):
    editor = admin_for(User.objects.get(username="edna"))
    changelist = reverse("admin:articles_article_changelist")
    assert editor.get(changelist).status_code == 200
    path = tmp_path / "archive.jsonl.gz"
    backup(path)

    restore(path, replace=True)

    assert not Session.objects.exists()
    assert editor.get(changelist).status_code == 302  # to the sign-in page


def damage(path, how):
    """Spoil a plain (uncompressed) backup file in one of several ways."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    if how == "missing":
        path.unlink()
    elif how == "empty":
        path.write_text("")
    elif how == "not a backup":
        path.write_text('[{"model": "articles.tag", "pk": 1, "fields": {}}]\n')
    elif how == "cut at a line":
        path.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    elif how == "cut mid-line":
        text = "".join(lines[:-1])
        path.write_text(text[: len(text) - 40], encoding="utf-8")
    elif how == "a changed row":
        row = next(n for n, line in enumerate(lines) if "Chinese President" in line)
        lines[row] = lines[row].replace("Chinese President", "Chinese Premier", 1)
        path.write_text("".join(lines), encoding="utf-8")
    elif how == "a row too many":
        lines.insert(-1, lines[-2])
        path.write_text("".join(lines), encoding="utf-8")
    elif how in ("other format version", "other migrations"):
        if how == "other format version":
            header["version"] = 2
        else:
            header["migrations"]["articles"].append("0099_from_the_future")
        lines[0] = json.dumps(header) + "\n"
        path.write_text("".join(lines), encoding="utf-8")
    elif how == "binary junk":
        path.write_bytes(b"\x00\xff" * 100)


REFUSALS = {
    "missing": "no such file",
    "empty": "not a Newsroom backup",
    "not a backup": "not a Newsroom backup",
    "cut at a line": "ends before its end marker: it is truncated",
    "cut mid-line": "the last line is cut short: the file is truncated",
    "a changed row": "do not match the end marker's count and checksum",
    "a row too many": "do not match the end marker's count and checksum",
    "other format version": "is in backup format version 2; this version of "
    "Newsroom reads version 1 only",
    "other migrations": "articles is at 0099_from_the_future in the backup",
    "binary junk": "cannot be read",
}


@pytest.mark.parametrize("how", REFUSALS)
def test_a_damaged_or_foreign_file_is_refused_and_nothing_changes(
    vocabulary, seed_folder, tmp_path, how
):
    call_command("seed", str(seed_folder), verbosity=0)
    path = tmp_path / "archive.jsonl"
    backup(path)
    Article.objects.update(byline="Changed since the backup")
    before = every_row()
    damage(path, how)

    with pytest.raises(CommandError) as refusal:
        restore(path, replace=True)

    assert str(refusal.value).startswith(str(path))
    assert REFUSALS[how] in str(refusal.value)
    assert every_row() == before


def test_a_truncated_compressed_file_is_refused_and_nothing_changes(
    vocabulary, seed_folder, tmp_path
):
    call_command("seed", str(seed_folder), verbosity=0)
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    before = every_row()

    with pytest.raises(CommandError) as refusal:
        restore(path, replace=True)

    assert "the compressed file ends too early: it is truncated" in str(refusal.value)
    assert every_row() == before


# A failure in the middle of a restore.


def reseal(lines: list[str]) -> str:
    """Write the end marker that fits ``lines`` (header, rows): a sound file."""
    rows = lines[1:]
    digest = hashlib.sha256("".join(rows).encode()).hexdigest()
    end = json.dumps({"end": {"rows": len(rows), "sha256": digest}})
    return "".join([*lines, end + "\n"])


def test_a_row_the_database_refuses_midway_leaves_everything_as_before(
    archive, tmp_path
):
    path = tmp_path / "archive.jsonl"
    backup(path)
    # A sound file whose last headline takes the slug of another: the
    # database refuses it after every story, tag and user is written.
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]
    headlines = [n for n, line in enumerate(lines) if '"articles.headline",' in line]
    clash = json.loads(lines[headlines[-1]])
    clash["fields"]["slug"] = json.loads(lines[headlines[0]])["fields"]["slug"]
    lines[headlines[-1]] = json.dumps(clash) + "\n"
    path.write_text(reseal(lines), encoding="utf-8")
    Article.objects.create(headline="Written after the backup", body="Kept.")
    before = every_row()

    with pytest.raises(CommandError) as failure:
        restore(path, replace=True)

    assert "cannot be restored" in str(failure.value)
    assert every_row() == before
    assert Article.objects.filter(headline="Written after the backup").exists()


def test_a_crash_midway_through_restore_leaves_everything_as_before(
    archive, tmp_path, monkeypatch
):
    path = tmp_path / "archive.jsonl.gz"
    backup(path)
    Article.objects.create(headline="Written after the backup", body="Kept.")
    before = every_row()
    read = []

    def crashing_deserializer(*args, **kwargs):
        for row in Deserializer(*args, **kwargs):
            read.append(row)
            if type(row.object) is Headline:  # users, tags, stories are in
                raise RuntimeError("the server ran out of memory")
            yield row

    monkeypatch.setattr(backups, "Deserializer", crashing_deserializer)

    with pytest.raises(RuntimeError, match="out of memory"):
        restore(path, replace=True)

    assert len(read) > len(before["articles.Article"]) + len(before["auth.User"])
    assert every_row() == before
    assert Article.objects.filter(headline="Written after the backup").exists()


# Cached pages.


def test_no_cached_page_survives_a_restore(people, tmp_path, client, settings):
    settings.NEWSROOM_PAGE_CACHE = True
    path = tmp_path / "people-only.jsonl.gz"
    backup(path)  # people, no stories
    story = Article.objects.create(
        headline="Harbour reopens",
        body="Cranes restart.",
        status=Status.PUBLISHED,
        published_at=timezone.now() - timedelta(hours=1),
    )
    assert story.headline in client.get("/").content.decode()
    assert "Age" in client.get("/")  # the second reader is served from the cache

    restore(path, replace=True)

    assert not Article.objects.exists()
    assert story.headline not in client.get("/").content.decode()
