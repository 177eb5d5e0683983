from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from articles.rendering import render_markdown
from articles.slugs import unique_slug

# An edit later than this after publication is shown to readers as an update.
UPDATE_NOTICE_AFTER = timedelta(minutes=5)


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    UNPUBLISHED = "unpublished", "Unpublished"


class TagKind(models.TextChoices):
    TOPIC = "topic", "Topic"
    PERSON = "person", "Person"
    PLACE = "place", "Place"
    ORGANIZATION = "organization", "Organization"


def public_q(prefix: str = "", *, now: datetime | None = None) -> Q:
    """
    The visibility rule: published, not scheduled for later, not under
    embargo.

    ``prefix`` applies it across a relation, as in
    ``Count("articles", filter=public_q("articles__"))``. (A database
    constraint already keeps a published item's time at or after its embargo;
    the rule says it again so that no surface depends on that alone.)
    """
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}status": Status.PUBLISHED,
            f"{prefix}published_at__lte": now,
        }
    ) & (
        Q(**{f"{prefix}embargo_until__isnull": True})
        | Q(**{f"{prefix}embargo_until__lte": now})
    )


class NullTime(models.Value):
    """
    A NULL timestamp. PostgreSQL types a bare NULL as text, which a UNION
    with timestamps refuses; a CAST would be grouped on, which stops the
    database from reading a MIN or MAX straight off an index.
    """

    def __init__(self):
        super().__init__(None, output_field=models.DateTimeField())

    def as_postgresql(self, compiler, connection):
        return "NULL::timestamp with time zone", []


def summarize_change_times(
    rows: Iterable[tuple[datetime | None, datetime | None, datetime | None]],
) -> tuple[datetime | None, datetime | None]:
    """
    From (edited, went live, upcoming) rows, return the last change and the
    next scheduled publication.
    """
    rows = list(rows)
    last = max(
        (time for edited, went_live, _ in rows for time in (edited, went_live) if time),
        default=None,
    )
    upcoming = min((row[2] for row in rows if row[2]), default=None)
    return last, upcoming


class ChangeTimesQuerySet(models.QuerySet):
    """Say, in one query, when any of these rows (and others) last changed."""

    edited_field = "updated_at"

    def last_changed(self, *others: "ChangeTimesQuerySet") -> datetime | None:
        """
        Return the latest change among these rows and those of ``others``
        (querysets of other models, say), all in one query.
        """
        return self.freshness(*others)[0]

    def freshness(
        self, *others: "ChangeTimesQuerySet", now: datetime | None = None
    ) -> tuple[datetime | None, datetime | None]:
        """
        Return when these rows (and ``others``) last changed, and when the
        next scheduled one goes public (so a cache knows when to let go).
        """
        return summarize_change_times(self.change_times_union(*others, now=now))

    def change_times_union(
        self, *others: "ChangeTimesQuerySet", now: datetime | None = None
    ) -> models.QuerySet:
        """The one query behind freshness(): rows of (edited, went live, upcoming)."""
        now = now or timezone.now()
        parts = [
            part for queryset in (self, *others) for part in queryset.change_times(now)
        ]
        return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]

    def change_times(self, now: datetime) -> list[models.QuerySet]:
        """
        Return one-row queries of the times that say when these rows changed.

        Each computes a single MIN or MAX over rows an index keeps in order,
        which the database answers by reading a row or two of that index:
        the cost does not grow with the archive. (One query with several
        filtered aggregates reads every row.)
        """
        return [self.time_row(edited=models.Max(self.edited_field))]

    def time_row(self, **aggregate: models.Aggregate) -> models.QuerySet:
        columns = {name: NullTime() for name in ("edited", "went_live", "upcoming")}
        columns.update(aggregate)
        # Grouping on a constant gives a one-row aggregate that, unlike
        # aggregate(), can be combined with others in a UNION.
        return (
            self.order_by()
            .annotate(one=models.Value(1, output_field=models.IntegerField()))
            .values("one")
            .annotate(**columns)
            .values_list(*columns)
        )


class PublishableQuerySet(ChangeTimesQuerySet):
    def published(self) -> "PublishableQuerySet":
        """Return what readers may see: published, not scheduled for later."""
        return self.filter(public_q())

    def tagged(self, tags: "Iterable[Tag]") -> "PublishableQuerySet":
        """
        Keep the items that carry any of ``tags`` (tags, or a query of them),
        tested row by row (EXISTS)
        rather than joined: the newest items are then read in the
        publication index's order until a page is full. Joined, SQLite
        (which knows nothing of how common a tag is) starts from the tag's
        links and sorts them all: 0.2 s for a topic on 60,000 headlines.
        """
        links = self.model.tags.through.objects.filter(
            **{self.model._meta.model_name: models.OuterRef("pk"), "tag__in": tags}
        )
        return self.filter(models.Exists(links))

    def for_reading(self) -> "PublishableQuerySet":
        """
        Leave out what no reader or API client is shown: the search index's
        copy of the text (large on PostgreSQL) and the import's digests.
        Only for reading: a save would skip them.
        """
        return self.defer("search_vector", "source_digests")

    def change_times(self, now: datetime) -> list[models.QuerySet]:
        return [
            *super().change_times(now),
            # What readers see also changes when a scheduled item's time
            # comes, which edits nothing.
            self.filter(public_q(now=now)).time_row(
                went_live=models.Max("published_at")
            ),
            # The next scheduled item to go public (a published item's time
            # is never before its embargo, so this covers embargoes too).
            self.filter(status=Status.PUBLISHED, published_at__gt=now).time_row(
                upcoming=models.Min("published_at")
            ),
        ]


class Publishable(models.Model):
    """Status, publication time and bookkeeping shared by articles and headlines."""

    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(
        "published at",
        null=True,
        blank=True,
        help_text="When readers may see it. A time in the future schedules it.",
    )
    embargo_until = models.DateTimeField(
        "embargoed until",
        null=True,
        blank=True,
        help_text=(
            "Until then nothing can make it public: publishing schedules it "
            "for this time at the earliest."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Optimistic concurrency: every save that changes the text bumps it, and
    # a save based on an older version is refused (see articles/workflow.py).
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PublishableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_public(self) -> bool:
        """Say whether readers may see this item now (the published() rule)."""
        now = timezone.now()
        return (
            self.status == Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= now
            and (self.embargo_until is None or self.embargo_until <= now)
        )

    @property
    def is_scheduled(self) -> bool:
        return (
            self.status == Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    def save(self, *args, **kwargs):
        # A full save is an edit: it moves the version on, so that an edit
        # made from an older version can be refused (articles/workflow.py).
        # Saves of a few fields (status, publication time) are not edits.
        if self.pk is not None and kwargs.get("update_fields") is None:
            self.version += 1
        super().save(*args, **kwargs)

    @property
    def is_embargoed(self) -> bool:
        return self.embargo_until is not None and self.embargo_until > timezone.now()

    def publish(self, *, at: datetime | None = None) -> None:
        """
        Publish now, or at ``at``; never before the embargo.

        An item that already has a publication time keeps it, so republishing
        a withdrawn story does not move it up the front page, and a scheduled
        story stays scheduled. Who may do this is the workflow's business
        (articles/workflow.py); this only sets the fields.
        """
        self.status = Status.PUBLISHED
        self.published_at = at or self.published_at or timezone.now()
        if self.embargo_until and self.published_at < self.embargo_until:
            self.published_at = self.embargo_until
        self.save(update_fields=["status", "published_at", "updated_at"])

    def unpublish(self) -> None:
        """Withdraw from every public surface, keeping the publication time."""
        self.status = Status.UNPUBLISHED
        self.save(update_fields=["status", "updated_at"])


def published_needs_time() -> Q:
    return ~Q(status=Status.PUBLISHED) | Q(published_at__isnull=False)


def published_after_embargo() -> Q:
    return (
        ~Q(status=Status.PUBLISHED)
        | Q(embargo_until__isnull=True)
        | Q(published_at__gte=models.F("embargo_until"))
    )


class TagQuerySet(ChangeTimesQuerySet):
    def get_by_natural_key(self, slug: str) -> "Tag":
        return self.get(slug=slug)

    def as_refs(self) -> "TagQuerySet":
        """Only what a link to a tag shows: lists of stories load hundreds."""
        return self.only("id", "name", "slug", "kind")

    def with_public_counts(self) -> "TagQuerySet":
        """
        Annotate how many public stories and headlines carry each tag.

        The counts come from one grouped query over the tag links, run now;
        the tags' own query then carries them as constants. Counting per tag
        inside the tags' query (a correlated subquery) costs a pass over the
        archive for every tag: seconds with 20,000 stories.
        """
        counts = public_tag_counts()

        def count(index: int) -> models.Expression:
            if not counts:
                return models.Value(0, output_field=models.IntegerField())
            return models.Case(
                *(
                    models.When(pk=pk, then=models.Value(pair[index]))
                    for pk, pair in counts.items()
                ),
                default=models.Value(0),
                output_field=models.IntegerField(),
            )

        return self.annotate(article_count=count(0), headline_count=count(1))

    def carried_publicly(self) -> "TagQuerySet":
        """Keep the tags that something public carries (asked tag by tag)."""
        carried = Q()
        for model in (Article, Headline):
            links = model.tags.through.objects.filter(
                tag=models.OuterRef("pk"),
                **{
                    f"{model._meta.model_name}__in": model.objects.published().values(
                        "pk"
                    )
                },
            )
            carried |= Q(models.Exists(links))
        return self.filter(carried)

    def in_use(self) -> "TagQuerySet":
        """Keep the tags that something public carries (with the counts)."""
        return (
            self.with_public_counts()
            .filter(Q(article_count__gt=0) | Q(headline_count__gt=0))
            .order_by("-article_count", "name")
        )


def per_public_tag(
    aggregate: Callable[[str], models.Aggregate],
) -> list[tuple[int, int, object]]:
    """
    Aggregate over the tag links of public stories and headlines, grouped by
    tag, in one query (not one pass over the archive per tag).

    ``aggregate(item)`` builds the aggregate, ``item`` being "article" or
    "headline" (the link's field to the item). Return (tag id, 0 for stories
    or 1 for headlines, value) rows.
    """
    parts = []
    for index, model in enumerate((Article, Headline)):
        item = model._meta.model_name
        parts.append(
            model.tags.through.objects.filter(
                **{f"{item}__in": model.objects.published().values("pk")}
            )
            .order_by()
            .values("tag_id")
            .annotate(which=models.Value(index), value=aggregate(item))
            .values_list("tag_id", "which", "value")
        )
    return list(parts[0].union(parts[1], all=True))


def public_tag_counts() -> dict[int, list[int]]:
    """Return {tag id: [public stories, public headlines]} in one query."""
    counts: dict[int, list[int]] = {}
    for tag_id, which, count in per_public_tag(lambda item: Count("pk")):
        counts.setdefault(tag_id, [0, 0])[which] = count
    return counts


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    kind = models.CharField(max_length=16, choices=TagKind, default=TagKind.TOPIC)
    description = models.TextField(blank=True)
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Other ways the text names it, one per line: abbreviations, capitals, "
            "demonyms. A form written in lower case matches any case; a form with "
            "capitals matches only as written (so “US” never matches “us”)."
        ),
    )
    short_forms = models.JSONField(
        "short forms",
        default=list,
        blank=True,
        help_text=(
            "Forms that count only after the name or an alias has appeared "
            "earlier in the same text, such as a surname on second reference."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["kind", "name"], name="tag_kind_idx")]

    def __str__(self):
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def clean(self):
        from articles.tagging import normalize_forms

        errors = {}
        for field in ("aliases", "short_forms"):
            try:
                setattr(self, field, normalize_forms(getattr(self, field)))
            except ValueError as error:
                errors[field] = str(error)
        if errors:
            raise ValidationError(errors)
        clashes = self.clashing_forms()
        if clashes:
            raise ValidationError(
                {
                    "aliases": "Already used by another tag: "
                    + "; ".join(f"“{form}” ({tag})" for form, tag in clashes)
                }
            )

    def get_absolute_url(self):
        return reverse("articles:tag", args=[self.slug])

    @property
    def forms(self) -> list[str]:
        """Return the name and every alias (not the short forms)."""
        return [self.name, *self.aliases]

    def clashing_forms(self) -> list[tuple[str, "Tag"]]:
        """Return the (form, other tag) pairs where another tag claims a form."""
        from articles.tagging import form_key

        mine = {form_key(form): form for form in [*self.forms, *self.short_forms]}
        clashes = []
        for other in Tag.objects.exclude(pk=self.pk):
            for form in [*other.forms, *other.short_forms]:
                if form_key(form) in mine:
                    clashes.append((mine[form_key(form)], other))
        return clashes


class SourceDocument(models.Model):
    """A seed document that articles and headlines were imported from."""

    name = models.CharField(
        max_length=255,
        unique=True,
        help_text="The file's path relative to the folder it was imported from.",
    )
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField(help_text="In bytes.")
    # Digests of every headline text ever imported from it, so that a
    # headline an editor deleted is not created again by the next import.
    imported_digests = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField("first imported", auto_now_add=True)
    updated_at = models.DateTimeField("last changed", auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Article(Publishable):
    headline = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text="The story's address. Left empty, it is made from the headline.",
    )
    dek = models.CharField(
        max_length=400, blank=True, help_text="The standfirst under the headline."
    )
    seo_headline = models.CharField(
        "search headline",
        max_length=200,
        blank=True,
        help_text="For search engines: the page title and feeds. Empty: the headline.",
    )
    social_headline = models.CharField(
        "social headline",
        max_length=200,
        blank=True,
        help_text="For social cards (Open Graph, Twitter). Empty: the headline.",
    )
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False, blank=True)
    byline = models.CharField(max_length=200, blank=True)
    featured = models.BooleanField(
        default=False, help_text="Featured stories lead the front page."
    )
    needs_review = models.BooleanField(
        "needs review",
        default=False,
        help_text=(
            "Something here was generated (such as a headline derived from the "
            "lead) and awaits an editor's check. Clear it once checked."
        ),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    source = models.OneToOneField(
        SourceDocument,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="article",
        help_text="The seed document this story was imported from.",
    )
    # Digests of each text field as last imported ({"body": "…", …}), so a
    # re-import can tell an editor's change (kept) from an untouched one.
    source_digests = models.JSONField(default=dict, blank=True, editable=False)
    # Kept up to date by a PostgreSQL trigger and GIN-indexed there (see
    # migration 0002); unused on SQLite, where search falls back to LIKE.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_public_idx"),
            models.Index(
                fields=["featured", "status", "-published_at"],
                name="article_featured_idx",
            ),
            models.Index(fields=["-updated_at"], name="article_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=published_needs_time(),
                name="article_published_has_time",
                violation_error_message="A published story needs a publication time.",
            ),
            models.CheckConstraint(
                condition=published_after_embargo(),
                name="article_respects_embargo",
                violation_error_message=(
                    "A story cannot be published before its embargo ends."
                ),
            ),
        ]
        permissions = [
            ("publish_article", "Can publish, schedule and unpublish stories"),
            ("correct_article", "Can append corrections to stories"),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        if not self.slug:
            # The one query save() makes: however a story is created (admin,
            # API, import, shell), it gets a unique slug from its headline.
            self.slug = unique_slug(Article, self.headline, fallback="story")
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.body_html = render_markdown(self.body)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:detail", args=[self.slug])

    @property
    def tagging_text(self) -> str:
        return "\n\n".join([self.headline, self.dek, self.body])

    @property
    def search_headline(self) -> str:
        """The headline for search engines and feeds."""
        return self.seo_headline or self.headline

    @property
    def share_headline(self) -> str:
        """The headline for social cards."""
        return self.social_headline or self.headline

    @property
    def updated_since_publication(self) -> bool:
        """Say whether the story changed after it went out (readers are told)."""
        if self.published_at is None:
            return False
        went_out = max(self.published_at, self.created_at)
        return self.updated_at - went_out > UPDATE_NOTICE_AFTER


class Headline(Publishable):
    text = models.CharField(max_length=300)
    slug = models.SlugField(
        max_length=200,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text="Left empty, it is made from the text.",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="headlines")
    article = models.ForeignKey(
        Article,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headlines",
        help_text="The story that tells this headline in full, if there is one.",
    )
    source = models.ForeignKey(
        SourceDocument,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headlines",
    )
    source_position = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Its place (1, 2, …) in the source document's headline list.",
    )
    source_digests = models.JSONField(default=dict, blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(
                fields=["status", "-published_at"], name="headline_public_idx"
            ),
            models.Index(fields=["-updated_at"], name="headline_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=published_needs_time(),
                name="headline_published_has_time",
                violation_error_message="A published headline needs a time.",
            ),
            models.CheckConstraint(
                condition=published_after_embargo(),
                name="headline_respects_embargo",
                violation_error_message=(
                    "A headline cannot be published before its embargo ends."
                ),
            ),
            models.UniqueConstraint(
                fields=["source", "source_position"],
                condition=Q(source__isnull=False),
                name="headline_unique_source_position",
            ),
        ]
        permissions = [
            ("publish_headline", "Can publish, schedule and unpublish headlines"),
        ]

    def __str__(self):
        return self.text

    @property
    def tagging_text(self) -> str:
        return self.text

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Headline, self.text, fallback="headline")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        if self.public_article is not None:
            return self.public_article.get_absolute_url()
        return f"{reverse('articles:headlines')}#{self.slug}"

    @property
    def public_article(self) -> Article | None:
        """The linked story, if readers may see it; else None (no slug leaks)."""
        if self.article is not None and self.article.is_public:
            return self.article
        return None


class WithdrawalQuerySet(ChangeTimesQuerySet):
    edited_field = "withdrawn_at"


class Withdrawal(models.Model):
    """
    A record that a public story or headline stopped being public.

    Written when one is unpublished, moved back to draft or review, scheduled
    for later again, or deleted, so that the API's change feed can tell a
    mirror to drop it. Items that were never public leave no record: their
    existence is nobody's business.
    """

    class Kind(models.TextChoices):
        ARTICLE = "article", "Story"
        HEADLINE = "headline", "Headline"

    class Reason(models.TextChoices):
        UNPUBLISHED = "unpublished", "Unpublished"
        DELETED = "deleted", "Deleted"

    kind = models.CharField(max_length=16, choices=Kind)
    object_id = models.BigIntegerField()
    slug = models.SlugField(max_length=200, allow_unicode=True)
    reason = models.CharField(max_length=16, choices=Reason)
    withdrawn_at = models.DateTimeField(default=timezone.now)

    objects = WithdrawalQuerySet.as_manager()

    class Meta:
        ordering = ["withdrawn_at", "pk"]
        indexes = [models.Index(fields=["withdrawn_at"], name="withdrawal_time_idx")]

    def __str__(self):
        return f"{self.kind} {self.slug} {self.reason} {self.withdrawn_at:%Y-%m-%d}"


class Transition(models.Model):
    """One step of an item through the workflow: who moved it, when, from where."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    item = GenericForeignKey("content_type", "object_id")
    action = models.CharField(max_length=16)
    from_status = models.CharField(max_length=16, choices=Status)
    to_status = models.CharField(max_length=16, choices=Status)
    published_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "-at"], name="transition_item_idx"
            )
        ]

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"


class Correction(models.Model):
    """
    A public correction appended to a story. Corrections are never deleted:
    the admin offers no delete, and a story that has one cannot be deleted.
    """

    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, related_name="corrections"
    )
    text = models.TextField(help_text="What was wrong and what is right, in full.")
    created_at = models.DateTimeField("corrected at", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["-created_at"], name="correction_time_idx")]

    def __str__(self):
        return f"Correction to “{self.article}” ({self.created_at:%Y-%m-%d})"

    def get_absolute_url(self):
        return f"{self.article.get_absolute_url()}#correction-{self.pk}"
