from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.backups import BackupError, backup, describe, write_backup


class Command(BaseCommand):
    help = (
        "Back up the whole archive to one file: stories, headlines, tags, "
        "source documents, corrections, withdrawals, workflow history, "
        "revisions, the admin's log, users, role groups and API tokens, as one "
        "consistent snapshot. A name ending in .gz is gzipped. The file holds "
        "password hashes and API tokens, which are credentials: it is created "
        "readable by its owner only (0600); keep it as safe as the database. "
        "Restore it with `manage.py restore`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            help="The file to write (replaced whole, once complete), or - for "
            "standard output (uncompressed).",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        path, using = options["path"], options["database"]
        try:
            if path == "-":
                rows = write_backup(self.stdout, using=using)
                report, where = self.stderr, "standard output"
            else:
                rows = backup(Path(path), using=using)
                report, where = self.stdout, path
        except BackupError as error:
            raise CommandError(error) from error
        total = sum(rows.values())
        report.write(
            self.style.SUCCESS(
                f"Backed up {total:,} rows to {where}: {describe(rows)}."
            )
        )
