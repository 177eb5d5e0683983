"""
Back up the whole archive to one file, and restore it.

A backup holds every row that makes the archive: stories, headlines, tags,
source documents, corrections, withdrawals, workflow transitions, the
revisions django-reversion keeps, the admin's log, users (with their password
hashes), role groups and API tokens. Rows keep their primary keys, so
addresses, API ids and the revisions' object ids stay valid. Content types
and permissions are not backed up: migrate makes them, and every database
numbers them its own way, so rows name them by natural key instead.

The file is JSON Lines, gzipped when its name ends in ``.gz``:

1. a header: the format and its version, when it was made, the Django
   version, the database's applied migrations and the rows of each table;
2. one row a line, as Django's serializers write them (jsonl), referenced
   tables first;
3. an end marker with the number of rows and their SHA-256, so that a
   truncated or damaged file is refused before anything is written.

A restore is one transaction: it is all written, or nothing is.
"""

import datetime
import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TextIO

import django
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVectorField
from django.core.management.color import no_style
from django.core.serializers import jsonl
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Deserializer
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from articles.cache import content_changed
from articles.search import SQLITE_INDEXED, ensure_sqlite_index

FORMAT = "newsroom-backup"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
# Rows inserted in one statement on restore (fewer where the database limits
# the parameters of a statement, as SQLite does).
BATCH_SIZE = 1000
# Every table of these apps is backed up, except the reference tables below.
BACKED_UP_APPS = ("auth", "authtoken", "articles", "reversion", "admin")
# Made by migrate, numbered by each database its own way: named by natural key.
REFERENCE_MODELS = (ContentType, Permission)
# A backup restores only into a database at the same migrations of these apps.
MIGRATION_APPS = ("contenttypes", *BACKED_UP_APPS)
# Migrate makes the role groups (articles/roles.py): not content of their own.
ROLE_MODELS = (Group, Group.permissions.through)


class BackupError(Exception):
    """A backup that cannot be made or restored, with why (and where in the file)."""


def archive_models() -> list[type[models.Model]]:
    """Return the backed-up models, each after the models it points to."""
    found = [
        model
        for label in BACKED_UP_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if not model._meta.proxy and model not in REFERENCE_MODELS
    ]
    ordered: list[type[models.Model]] = []

    def visit(model: type[models.Model], path: tuple) -> None:
        # A cycle is left as it is: foreign keys are checked at commit.
        if model in ordered or model in path or model not in found:
            return
        for field in model._meta.concrete_fields:
            if field.is_relation:
                visit(field.related_model, (*path, model))
        ordered.append(model)

    for model in found:
        visit(model, ())
    return ordered


def label(model: type[models.Model]) -> str:
    """The model's name as Django's serializers write it ("articles.article")."""
    return model._meta.label_lower


def describe(rows: dict[str, int]) -> str:
    """Say how many rows of each table, leaving out the empty ones."""
    return ", ".join(f"{count:,} {name}" for name, count in rows.items() if count)


def applied_migrations(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """Return the database's applied migrations, by app, in order."""
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connections[using]).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


# Writing.


class ExactJSONEncoder(DjangoJSONEncoder):
    """Write times to the microsecond (Django's encoder keeps milliseconds)."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


class ArchiveSerializer(jsonl.Serializer):
    """
    Django's JSON Lines serializer, keeping primary keys and naming only
    content types and permissions by natural key (a user, a tag or a story
    is named by its id, which the restore keeps).
    """

    def handle_field(self, obj, field):
        # Derived from the text; each database rebuilds it on restore.
        if not isinstance(field, SearchVectorField):
            super().handle_field(obj, field)

    def handle_fk_field(self, obj, field):
        # Read by the base class for each field.
        self.use_natural_foreign_keys = field.related_model in REFERENCE_MODELS
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        # Links are backed up as rows of their own table, ids and all.
        pass

    def end_object(self, obj):
        line = json.dumps(self.get_dump_object(obj), **self.json_kwargs)
        self.stream.write(line + "\n")
        self._current = None


class _Digest:
    """A text stream that counts and hashes the lines written through it."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.lines = 0

    def write(self, text: str) -> None:
        self.sha256.update(text.encode())
        self.lines += text.count("\n")
        self.stream.write(text)


def _rows(model: type[models.Model], using: str) -> Iterator[models.Model]:
    queryset = model._base_manager.using(using).order_by("pk")
    related = []
    for field in model._meta.concrete_fields:
        if field.related_model is ContentType:
            related.append(field.name)
        elif field.related_model is Permission:
            related.append(f"{field.name}__content_type")
    if related:
        queryset = queryset.select_related(*related)
    return queryset.iterator(chunk_size=2000)


@contextmanager
def snapshot(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """
    Read inside one transaction that sees the database as it was when it
    began, whatever others write meanwhile (and without stopping them).

    PostgreSQL's default, READ COMMITTED, would see rows committed while the
    backup runs: REPEATABLE READ, as pg_dump uses, does not. On SQLite (in
    WAL mode) any read transaction is a snapshot; Newsroom's transactions
    take the write lock up front (IMMEDIATE), which would hold off every
    editor for the whole backup, so this one is begun DEFERRED, by hand
    (Django offers no other kind). Inside a transaction that has begun
    already, the caller's transaction decides.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            try:
                yield
            finally:
                cursor.execute("ROLLBACK")  # it only read
        return
    # Connect (and run the health check) outside the transaction: the
    # isolation level must be its first statement.
    with connection.cursor():
        pass
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
        yield


def write_backup(stream: TextIO, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Write the whole archive to ``stream``; return the rows of each table."""
    with snapshot(using):
        archive = archive_models()
        rows = {
            label(model): model._base_manager.using(using).count() for model in archive
        }
        header = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": timezone.now().isoformat(),
            "django": django.get_version(),
            "database": connections[using].vendor,
            "migrations": applied_migrations(using),
            "rows": rows,
        }
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        digest = _Digest(stream)
        serializer = ArchiveSerializer()
        for model in archive:
            serializer.serialize(
                _rows(model, using),
                stream=digest,
                cls=ExactJSONEncoder,
            )
        end = {"end": {"rows": digest.lines, "sha256": digest.sha256.hexdigest()}}
        stream.write(json.dumps(end) + "\n")
    if digest.lines != sum(rows.values()):
        raise BackupError("The archive changed while it was being backed up.")
    return rows


def backup(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """
    Write a backup to ``path`` (gzipped if it ends in .gz), readable by its
    owner only: it holds password hashes and API tokens.

    The file appears whole or not at all: it is written next to ``path``
    under another name, then renamed.
    """
    path = Path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(  # mode 0600
            dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
        )
    except OSError as error:
        raise BackupError(f"{path}: cannot write there: {error.strerror}.") from error
    try:
        with os.fdopen(descriptor, "wb") as raw:
            compressed = (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)
                if path.name.endswith(".gz")
                else None
            )
            text = io.TextIOWrapper(compressed or raw, encoding="utf-8", newline="\n")
            rows = write_backup(text, using=using)
            text.flush()
            text.detach()
            if compressed is not None:
                compressed.close()  # writes gzip's trailer; leaves ``raw`` open
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise BackupError(
                f"{path}: cannot write there: {error.strerror}."
            ) from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
    return rows


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` survive a crash (where the OS allows)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# Reading.


class BackupReader:
    """A backup file read line by line, knowing which line it is at."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.line = 0

    def error(self, message: str) -> BackupError:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return BackupError(f"{where}: {message}")

    def lines(self) -> Iterator[str]:
        """Yield the file's lines, whether it is gzipped or not."""
        self.line = 0
        try:
            with self.path.open("rb") as probe:
                compressed = probe.read(2) == GZIP_MAGIC
            binary = gzip.open(self.path, "rb") if compressed else self.path.open("rb")
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
                for line in text:
                    self.line += 1
                    yield line
        except FileNotFoundError:
            raise BackupError(f"{self.path}: no such file.") from None
        except IsADirectoryError:
            raise BackupError(f"{self.path}: is a folder, not a backup file.") from None
        except PermissionError:
            raise BackupError(f"{self.path}: not allowed to read it.") from None
        except EOFError:
            raise self.error(
                "the compressed file ends too early: it is truncated."
            ) from None
        except (OSError, zlib.error, UnicodeDecodeError) as error:
            raise self.error(
                f"cannot be read ({error}): the file is damaged or not a backup."
            ) from None

    def header(self, lines: Iterator[str]) -> dict:
        """Read and check the header: is this a backup this code can read?"""
        first = next(lines, "")
        try:
            header = json.loads(first)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self.error(
                "not a Newsroom backup (it does not start with the header "
                "that `manage.py backup` writes)."
            )
        if header.get("version") != VERSION:
            raise self.error(
                f"is in backup format version {header.get('version')}; this "
                f"version of Newsroom reads version {VERSION} only."
            )
        if not isinstance(header.get("rows"), dict) or not isinstance(
            header.get("migrations"), dict
        ):
            raise self.error("its header is incomplete: the file is damaged.")
        return header

    def rows(self, lines: Iterator[str]) -> Iterator[str]:
        """
        Yield each row's line; once all are read, check them against the end
        marker (their number and SHA-256).
        """
        digest = hashlib.sha256()
        count = 0
        end = None
        for line in lines:
            if end is not None:
                raise self.error("there is more after the end marker: not a backup.")
            if not line.endswith("\n"):
                raise self.error("the last line is cut short: the file is truncated.")
            if line.startswith('{"end":'):
                try:
                    end = json.loads(line)["end"]
                except (ValueError, KeyError, TypeError):
                    raise self.error("the end marker is damaged.") from None
                continue
            digest.update(line.encode())
            count += 1
            yield line
        if end is None:
            raise self.error(
                "the file ends before its end marker: it is truncated "
                f"({count:,} rows read)."
            )
        if end != {"rows": count, "sha256": digest.hexdigest()}:
            raise self.error(
                "the rows do not match the end marker's count and checksum: "
                "the file is damaged."
            )


def check_migrations(
    path: Path, header: dict, *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Refuse a backup made at other migrations than this database is at."""
    here = applied_migrations(using)
    differences = []
    for app in MIGRATION_APPS:
        theirs = header["migrations"].get(app, [])
        ours = here.get(app, [])
        if set(theirs) != set(ours):
            differences.append(
                f"{app} is at {max(theirs, default='no migration')} in the backup "
                f"and at {max(ours, default='no migration')} here"
            )
    if differences:
        raise BackupError(
            f"{path}: the backup was made at other migrations than this database "
            f"is at ({'; '.join(differences)}). Restore it into a database "
            "migrated to the backup's migrations (`manage.py migrate APP "
            "MIGRATION`), then migrate."
        )


def check_backup(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """
    Read the whole file and return its header, or raise BackupError if it is
    not a whole, undamaged backup that fits this database.
    """
    reader = BackupReader(path)
    with closing(reader.lines()) as lines:
        header = reader.header(lines)
        check_migrations(reader.path, header, using=using)
        for _ in reader.rows(lines):
            pass
    return header


# Restoring.


def held_content(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """
    Return the rows this database holds in the backed-up tables, leaving out
    the role groups (migrate makes them) and links (they come with items).
    """
    held = {}
    for model in archive_models():
        if model not in ROLE_MODELS and not model._meta.auto_created:
            count = model._base_manager.using(using).count()
            if count:
                held[str(model._meta.verbose_name_plural)] = count
    return held


def restore(
    path: Path, *, replace: bool = False, using: str = DEFAULT_DB_ALIAS
) -> tuple[dict, dict[str, int]]:
    """
    Restore the backup at ``path``, all of it or (on any failure) nothing;
    return its header and the rows restored to each table.

    Refuse a file that is not a whole backup, or was made at other
    migrations, before writing anything; refuse a database that holds
    content unless ``replace``, which deletes it in the same transaction.
    Everyone is signed out: sessions are not backed up.
    """
    header = check_backup(path, using=using)
    archive = archive_models()
    connection = connections[using]
    tables = [model._meta.db_table for model in archive]
    if apps.is_installed("django.contrib.sessions"):
        tables.append(apps.get_model("sessions", "Session")._meta.db_table)
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            # Nobody writes to these tables until the restore commits.
            quoted = ", ".join(map(connection.ops.quote_name, tables))
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {quoted} IN EXCLUSIVE MODE")
        held = held_content(using)
        if held and not replace:
            raise BackupError(
                f"The database already holds content ({describe(held)}): "
                "restoring would mix two archives, so nothing was restored. "
                "Restore into an empty database, or use --replace to delete "
                "what it holds (in the same transaction as the restore)."
            )
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
        rows = _load(BackupReader(path), archive, using=using)
        expected = {name: count for name, count in header["rows"].items() if count}
        if {name: count for name, count in rows.items() if count} != expected:
            raise BackupError(
                f"{path}: its rows ({describe(rows)}) do not match its header "
                f"({describe(expected)}): the file is damaged."
            )
        try:
            connection.check_constraints(table_names=tables)
        except DatabaseError as error:
            raise BackupError(
                f"{path}: the rows do not fit together: {error}"
            ) from None
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), archive):
                cursor.execute(sql)
        make_searchable(using)
        content_changed()
    return header, rows


def _load(
    reader: BackupReader, archive: list[type[models.Model]], *, using: str
) -> dict[str, int]:
    """
    Insert every row of the file as it is, in batches of a table's rows.

    Each batch is inserted the way loaddata saves a row (a raw save: no
    save() logic, no signals, timestamps as they were), by the same
    QuerySet._insert(raw=True) call, many rows a statement: that halves a
    restore's time. Links are rows of their own, so no tag signal fires
    either.
    """
    allowed = {label(model): model for model in archive}
    rows = Counter({name: 0 for name in allowed})
    batch: list[models.Model] = []
    batch_sizes: dict[type[models.Model], int] = {}
    operations = connections[using].ops

    def parsed(lines: Iterator[str]) -> Iterator[dict]:
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                raise reader.error(
                    "the line is not JSON: the file is damaged."
                ) from None
            model = row.get("model") if isinstance(row, dict) else None
            if model not in allowed:
                raise reader.error(f"a row of {model}, which no backup holds.")
            yield row

    def insert() -> None:
        model = type(batch[0])
        model._base_manager.using(using)._insert(
            batch, fields=model._meta.local_concrete_fields, using=using, raw=True
        )
        rows[label(model)] += len(batch)
        batch.clear()

    with closing(reader.lines()) as lines:
        reader.header(lines)
        try:
            for row in Deserializer(parsed(reader.rows(lines)), using=using):
                model = type(row.object)
                if model not in batch_sizes:
                    fields = model._meta.local_concrete_fields
                    batch_sizes[model] = operations.bulk_batch_size(
                        fields, [row.object] * BATCH_SIZE
                    )
                if batch and (
                    type(batch[0]) is not model or len(batch) >= batch_sizes[model]
                ):
                    insert()
                batch.append(row.object)
            if batch:
                insert()
        except (DeserializationError, DatabaseError) as error:
            raise reader.error(
                f"a row up to this line cannot be restored: {error}"
            ) from None
    return {name: rows[name] for name in allowed}


def make_searchable(using: str = DEFAULT_DB_ALIAS) -> None:
    """
    Make sure every story and headline is in the search index.

    Triggers index each inserted row: on PostgreSQL the one of migration 0002
    fills its search vector, on SQLite those of ensure_sqlite_index() its
    FTS5 index. A PostgreSQL row without a vector gets one here (writing the
    column fires the trigger); on SQLite, triggers that went missing are put
    back and the index rebuilt.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        for model in SQLITE_INDEXED:
            model._base_manager.using(using).filter(search_vector__isnull=True).update(
                search_vector=None
            )
    elif connection.vendor == "sqlite":
        ensure_sqlite_index(using)
