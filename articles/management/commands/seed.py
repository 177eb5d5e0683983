from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.models import Tag
from articles.seeding import (
    SeedError,
    find_documents,
    import_document,
    printable,
    read_document,
)
from articles.tagging import Tagger


class DryRunRollback(Exception):
    """Raised inside a dry run's transaction so that nothing it did is kept."""


class Command(BaseCommand):
    help = (
        "Import plain-text news documents as one article and its headlines each. "
        "Each document is imported all-or-nothing; a bad document is reported "
        "and the others are still imported (use --fail-fast to stop at the first)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="*",
            type=Path,
            help="Documents or folders of *.txt documents (default: seeds/).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change and write nothing.",
        )
        parser.add_argument(
            "--fail-fast",
            action="store_true",
            help="Stop at the first document that cannot be imported.",
        )

    def handle(self, *args, **options):
        paths = options["paths"] or [Path(settings.BASE_DIR) / "seeds"]
        dry_run, fail_fast = options["dry_run"], options["fail_fast"]
        try:
            documents = find_documents(paths)
        except SeedError as error:
            raise CommandError(error) from error
        if not documents:
            raise CommandError(
                f"No documents (*.txt) in {', '.join(map(printable, paths))}."
            )
        if not Tag.objects.exists():
            self.stderr.write(
                self.style.WARNING(
                    "The tag vocabulary is empty, so nothing will be tagged: "
                    "run `python manage.py loadvocabulary` first."
                )
            )
        tagger = Tagger.from_database()
        outcomes = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        names: dict[str, Path] = {}
        for found in documents:
            path = found.path
            try:
                if path.name in names:
                    raise SeedError(
                        path,
                        f"has the same file name as {names[path.name]}; documents "
                        "are known by their file name, so one of them must be renamed",
                    )
                names[path.name] = path
                document = read_document(
                    path,
                    folder=found.folder,
                    max_bytes=settings.NEWSROOM_SEED_MAX_BYTES,
                )
                report = self._import(document, tagger=tagger, dry_run=dry_run)
            except SeedError as error:
                outcomes["failed"] += 1
                self.stderr.write(self.style.ERROR(f"{error}"))
                if fail_fast:
                    break
                continue
            outcomes[report.outcome] += 1
            verb = "would be " if dry_run else ""
            self.stdout.write(f"{printable(path)}: {verb}{report.summary()}")

        summary = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
        prefix = "Dry run, nothing written" if dry_run else "Seeded"
        if outcomes["failed"]:
            raise CommandError(f"{prefix}: {summary}.")
        self.stdout.write(self.style.SUCCESS(f"{prefix}: {summary}."))

    def _import(self, document, *, tagger, dry_run):
        if not dry_run:
            return import_document(document, tagger=tagger)
        try:
            with transaction.atomic():
                report = import_document(document, tagger=tagger)
                raise DryRunRollback
        except DryRunRollback:
            return report
