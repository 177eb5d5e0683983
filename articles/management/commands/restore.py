from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.backups import BackupError, describe, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup`, in one transaction: all "
        "of it or, on any failure, nothing. Refuses a file that is truncated, "
        "damaged, of another format version or made at other migrations than "
        "this database is at, and a database that already holds content "
        "(unless --replace). Everyone is signed out; every restored story is "
        "searchable and no cached page survives."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup file (.gz or not).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the content this database holds first, in the same "
            "transaction (a failed restore leaves it as it was).",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        try:
            header, rows = restore(
                options["path"], replace=options["replace"], using=options["database"]
            )
        except BackupError as error:
            raise CommandError(error) from error
        total = sum(rows.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {total:,} rows from {options['path']} (backed up "
                f"{header['created_at']}): {describe(rows)}."
            )
        )
