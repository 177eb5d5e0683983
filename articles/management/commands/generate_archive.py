"""
Fill the database with a synthetic archive for benchmarks and load tests.

Everything it makes is marked: slugs start with "generated--" (a double
hyphen, which slugify never makes, so no real slug looks like it) and the
headlines hang off one SourceDocument named "generated-archive". ``--remove``
takes exactly that away again and leaves real content alone.
"""

import random
import time
from datetime import timedelta
from itertools import accumulate, islice

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from articles.cache import content_changed
from articles.models import Article, Headline, SourceDocument, Status, Tag
from articles.seeding import headline_case

MARK = "generated-archive"
SLUG_PREFIX = "generated--"
BATCH = 2000
YEARS = 8
# Words to write with: the seed story's vocabulary is newsroom-like enough.
WORDS = (
    "president visit relations strategic push strengthen regional tensions "
    "leaders interval analysts signal desire deepen diplomatic economic cultural "
    "cooperation timing significant lowest points years escalated prime minister "
    "hypothetical military action response backdrop invitation calculated move "
    "prioritize ties administration emphasized intention restore rebalance largest "
    "trading partner shift previous government alignment criticism policy strained "
    "disputes pragmatic safeguard interests warmer signals challenges remain strong "
    "alliance troops stationed peninsula deter forces flexible responding broader "
    "threats concerns agenda expected urge facilitate dialogue despite rebuffs "
    "central focus discussions cover critical minerals supply chains semiconductors "
    "green industries advanced technologies artificial intelligence imports exports "
    "underscoring interdependence exchanges resurface easing restrictions dimension "
    "evolving relationship lawmakers review files court order funding tariff deal "
    "energy talks election victory inflation claims voters reality threat charges "
    "party wins stability nuclear meeting deposition committee appeals project"
).split()
# Words are drawn as in real text, a few often and most rarely (Zipf).
WORD_WEIGHTS = list(accumulate(1 / rank for rank in range(1, len(WORDS) + 1)))
MENTION = "\x00"  # where a sentence names one of its story's tags
STATUSES = [Status.PUBLISHED] * 94 + [Status.DRAFT] * 3 + [Status.REVIEW] * 2
STATUSES += [Status.UNPUBLISHED]


class Command(BaseCommand):
    help = (
        "Generate a synthetic archive of stories and headlines (marked as "
        f"“{MARK}”), or remove it with --remove."
    )

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=1000)
        parser.add_argument("--headlines", type=int, default=2000)
        parser.add_argument(
            "--seed", type=int, default=1, help="Same seed, same archive."
        )
        parser.add_argument(
            "--remove", action="store_true", help="Remove the generated archive."
        )

    def handle(self, *args, **options):
        if options["remove"]:
            self._remove()
            return
        if options["articles"] < 0 or options["headlines"] < 0:
            raise CommandError("--articles and --headlines count from 0.")
        tags = list(Tag.objects.order_by("pk"))
        if not tags:
            raise CommandError(
                "The tag vocabulary is empty: run `python manage.py loadvocabulary`."
            )
        if SourceDocument.objects.filter(name=MARK).exists():
            raise CommandError(
                "A generated archive exists already: remove it first with --remove."
            )
        started = time.monotonic()
        rng = random.Random(options["seed"])
        # A few tags carry most stories, as in a real archive (Zipf-like).
        weights = [1 / (rank + 1) for rank in range(len(tags))]
        rng.shuffle(weights)
        source = SourceDocument.objects.create(name=MARK, sha256="0" * 64, size=0)
        now = timezone.now()
        article_ids = self._articles(
            options["articles"], rng=rng, tags=tags, weights=weights, source=source,
            now=now,
        )  # fmt: skip
        self._headlines(
            options["headlines"], rng=rng, tags=tags, weights=weights, source=source,
            now=now, article_ids=article_ids,
        )  # fmt: skip
        # Fresh statistics, or the planner misjudges the new rows: PostgreSQL
        # takes the tables for empty and picks nested loops that make topic
        # counts take seconds; SQLite reads a story's headlines through the
        # publication-time index (0.3 s a story page at 100,000 stories).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        # Bulk writes send no signals: retire cached pages here.
        content_changed()
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {options['articles']:,} stories and "
                f"{options['headlines']:,} headlines in {seconds:.1f} s "
                f"({connection.vendor}). Remove them with --remove."
            )
        )

    # Writing.

    def _articles(self, count, *, rng, tags, weights, source, now) -> list[int]:
        through = Article.tags.through
        ids: list[int] = []
        for done, size in self._batches(count):
            articles, chosen = [], []
            for number in range(done, done + size):
                story_tags = self._tags(rng, tags, weights, 2, 6)
                chosen.append(story_tags)
                names = [tag.name for tag in story_tags]
                # A story names what it is about: its headline its main tag,
                # about half its paragraphs one tag or another.
                headline = self._sentence(rng, 7, 14, mention=names[0])
                paragraphs = [
                    self._sentence(
                        rng, 40, 90, end=".",
                        mention=rng.choice(names) if rng.random() < 0.5 else None,
                    )
                    for _ in range(rng.randint(5, 12))
                ]  # fmt: skip
                status = rng.choice(STATUSES)
                published_at = now - timedelta(
                    seconds=rng.randint(60, YEARS * 365 * 86400)
                )
                articles.append(
                    Article(
                        headline=headline,
                        slug=f"{SLUG_PREFIX}{number}--{slugify(headline)[:60]}",
                        dek=self._sentence(rng, 20, 35, end="."),
                        body="\n\n".join(paragraphs),
                        body_html="\n".join(f"<p>{escape(p)}</p>" for p in paragraphs),
                        byline=rng.choice(["", "Staff reporter", "Newsroom desk"]),
                        status=status,
                        published_at=(
                            None
                            if status in (Status.DRAFT, Status.REVIEW)
                            else published_at
                        ),
                        featured=rng.random() < 0.01,
                    )
                )
            with transaction.atomic():
                created = Article.objects.bulk_create(articles)
                # Article.source is one-to-one, so stories are marked by their
                # slug prefix alone.
                links = [
                    through(article_id=article.pk, tag_id=tag.pk)
                    for article, story_tags in zip(created, chosen, strict=True)
                    for tag in story_tags
                ]
                through.objects.bulk_create(links, ignore_conflicts=True)
            ids += [article.pk for article in created]
            self._progress("stories", done + size, count)
        return ids

    def _headlines(self, count, *, rng, tags, weights, source, now, article_ids):
        through = Headline.tags.through
        for done, size in self._batches(count):
            headlines, chosen = [], []
            for number in range(done, done + size):
                headline_tags = self._tags(rng, tags, weights, 1, 3)
                chosen.append(headline_tags)
                text = self._sentence(rng, 6, 14, mention=headline_tags[0].name)
                status = rng.choice(STATUSES)
                headlines.append(
                    Headline(
                        text=text,
                        slug=f"{SLUG_PREFIX}{number}--{slugify(text)[:60]}",
                        status=status,
                        published_at=(
                            None
                            if status in (Status.DRAFT, Status.REVIEW)
                            else now
                            - timedelta(seconds=rng.randint(60, YEARS * 365 * 86400))
                        ),
                        article_id=(
                            rng.choice(article_ids)
                            if article_ids and rng.random() < 0.3
                            else None
                        ),
                        source=source,
                    )
                )
            with transaction.atomic():
                created = Headline.objects.bulk_create(headlines)
                links = [
                    through(headline_id=headline.pk, tag_id=tag.pk)
                    for headline, headline_tags in zip(created, chosen, strict=True)
                    for tag in headline_tags
                ]
                through.objects.bulk_create(links, ignore_conflicts=True)
            self._progress("headlines", done + size, count)

    def _remove(self):
        source = SourceDocument.objects.filter(name=MARK).first()
        stories = Article.objects.filter(slug__startswith=SLUG_PREFIX)
        if source is None:
            raise CommandError("There is no generated archive to remove.")
        started = time.monotonic()
        with transaction.atomic():
            headlines = Headline.objects.filter(
                source=source, slug__startswith=SLUG_PREFIX
            )
            Headline.tags.through.objects.filter(headline__in=headlines).delete()
            story_count = stories.count()
            headline_count = headlines.count()
            Headline.objects.filter(article__in=stories).update(article=None)
            Article.tags.through.objects.filter(article__in=stories).delete()
            # Raw deletes: synthetic rows need no withdrawals, revisions or
            # signals, and 100,000 of them one by one would take minutes.
            headlines._raw_delete(headlines.db)
            stories._raw_delete(stories.db)
            source.delete()
        # Bulk writes send no signals: retire cached pages here.
        content_changed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Removed {story_count:,} generated stories and {headline_count:,} "
                f"headlines in {time.monotonic() - started:.1f} s."
            )
        )

    # Helpers.

    @staticmethod
    def _batches(count):
        for done in range(0, count, BATCH):
            yield done, min(BATCH, count - done)

    @staticmethod
    def _sentence(rng, low, high, *, end="", mention=None) -> str:
        words = rng.choices(WORDS, cum_weights=WORD_WEIGHTS, k=rng.randint(low, high))
        if mention:
            words.insert(rng.randrange(len(words)), MENTION)
        text = " ".join(words)
        text = headline_case(text) if not end else text.capitalize()
        # The name goes in after the casing: names keep their own.
        return text.replace(MENTION, mention or "") + end

    @staticmethod
    def _tags(rng, tags, weights, low, high):
        chosen = rng.choices(tags, weights=weights, k=rng.randint(low, high))
        return list(dict.fromkeys(islice(chosen, high)))

    def _progress(self, what, done, total):
        if total:
            self.stdout.write(f"  {what}: {done:,}/{total:,} ({done * 100 // total}%)")
