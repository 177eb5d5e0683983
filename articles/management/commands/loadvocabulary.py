import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.models import Tag

FIELDS = ["name", "kind", "description", "aliases", "short_forms"]


class Command(BaseCommand):
    help = (
        "Add the tags of the vocabulary fixture (fixtures/tags.json) that are "
        "missing. Tags that exist are left alone, so an editor's changes to "
        "names, aliases or descriptions survive every run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "fixture",
            nargs="?",
            type=Path,
            default=Path(settings.BASE_DIR) / "fixtures" / "tags.json",
        )

    def handle(self, *args, **options):
        path = options["fixture"]
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            tags = [
                {
                    "slug": entry["fields"]["slug"],
                    **{f: entry["fields"][f] for f in FIELDS},
                }
                for entry in entries
                if entry.get("model") == "articles.tag"
            ]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(f"{path}: not a tag fixture ({error})") from error
        existing = set(Tag.objects.values_list("slug", flat=True))
        missing = [Tag(**fields) for fields in tags if fields["slug"] not in existing]
        with transaction.atomic():
            for tag in missing:
                try:
                    tag.full_clean()
                except ValidationError as error:
                    raise CommandError(f"{path}: tag “{tag.slug}”: {error}") from error
                tag.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Vocabulary: {len(missing)} tags added, "
                f"{len(tags) - len(missing)} already there."
            )
        )
