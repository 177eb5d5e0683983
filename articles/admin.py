from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from reversion.admin import VersionAdmin
from reversion.models import Version

from articles.models import (
    Article,
    Correction,
    Headline,
    SourceDocument,
    Status,
    Tag,
    Transition,
)
from articles.previews import preview_url
from articles.revisions import WORKFLOW_FIELDS, changes_since, compare, register
from articles.tagging import Tagger, normalize_forms, suggest_tags
from articles.workflow import (
    MOVES,
    TransitionNotAllowed,
    allowed_moves,
    can_edit,
    can_publish,
    develop,
    history,
    perform,
    refuse,
)

# Before any VersionAdmin registers the models with all their fields.
register()


class AtomicActionsMixin:
    """
    Run every bulk action, ours and the admin's own "Delete selected", in one
    transaction: a crash on the third item leaves the first two as they were
    too (and the admin's log says nothing happened, since nothing did).
    Items an action refuses by the workflow's rules are reported and skipped,
    not a crash: the others are still done.
    """

    def response_action(self, request, queryset):
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().response_action(request, queryset)


class FormsField(forms.CharField):
    """Edit a list of forms as a textarea with one form per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        try:
            return normalize_forms(value or "")
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class TagForm(forms.ModelForm):
    aliases = FormsField(required=False, help_text=Tag.aliases.field.help_text)
    short_forms = FormsField(required=False, help_text=Tag.short_forms.field.help_text)

    class Meta:
        model = Tag
        fields = ["name", "slug", "kind", "description", "aliases", "short_forms"]


@admin.register(Tag)
class TagAdmin(AtomicActionsMixin, admin.ModelAdmin):
    form = TagForm
    list_display = ["name", "kind", "slug", "alias_list", "article_count"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=Count("articles", distinct=True))
        )

    @admin.display(description="aliases")
    def alias_list(self, tag):
        return ", ".join([*tag.aliases, *tag.short_forms])

    @admin.display(description="stories", ordering="article_count")
    def article_count(self, tag):
        return tag.article_count


class PublishableForm(forms.ModelForm):
    """Refuse a save based on an older version of the item (optimistic locking)."""

    # Where the editor started: the item's version, and when the form loaded.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)
    check_version = True
    user = None  # set by the admin: whose move "_move" would be

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.version
            self.fields["loaded_at"].initial = timezone.now()

    def clean(self):
        cleaned = super().clean()
        move = self.data.get("_move")
        if move:
            # Refuse the whole save, not just the move, when the move is not
            # the user's to make: nothing half-done.
            item = self.instance
            if item.pk is not None:
                item = type(item).objects.select_for_update().get(pk=item.pk)
            elif item.created_by_id is None and self.user is not None:
                item.created_by = self.user
            refusal = (
                refuse(item, MOVES[move], self.user)
                if move in MOVES
                else f"There is no “{move}” step in the workflow."
            )
            if refusal:
                raise forms.ValidationError(refusal)
        if self.instance.pk is None:
            return cleaned
        # The admin saves inside a transaction: lock the row until then.
        current = (
            type(self.instance).objects.select_for_update().get(pk=self.instance.pk)
        )
        started = cleaned.get("version")
        if self.check_version and started is not None and started != current.version:
            changes = changes_since(current, cleaned.get("loaded_at") or timezone.now())
            what = "; ".join(
                f"{change.name}: “{change.before[:80]}” → “{change.after[:80]}”"
                for change in changes
            )
            raise forms.ValidationError(
                "Someone else saved this while you were editing it, so your save "
                "was refused and nothing was lost: their version is saved, and "
                "yours is still in this form. Copy what you need, reload the "
                "page, and apply your changes again."
                + (f" What they changed: {what}." if what else "")
            )
        published_at = cleaned.get("published_at", self.instance.published_at)
        if self.instance.status == Status.PUBLISHED and published_at is None:
            raise forms.ValidationError(
                {"published_at": "This is published: it needs a publication time."}
            )
        embargo = cleaned.get("embargo_until", self.instance.embargo_until)
        if (
            self.instance.status == Status.PUBLISHED
            and embargo
            and published_at
            and published_at < embargo
        ):
            raise forms.ValidationError(
                {
                    "published_at": "This is published: its publication time "
                    "cannot be earlier than the embargo "
                    f"({timezone.localtime(embargo):%Y-%m-%d %H:%M})."
                }
            )
        return cleaned


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    list_display = ["at", "item", "action", "from_status", "to_status", "user"]
    list_filter = ["action", "to_status", "content_type"]
    date_hierarchy = "at"
    list_select_related = ["user", "content_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PublishableAdmin(AtomicActionsMixin, VersionAdmin):
    """
    What stories and headlines share: the workflow (moves as buttons and as
    bulk actions), scheduling and embargo, revisions (history, compare,
    restore) and protection against two people saving over each other.
    """

    class Media:
        css = {"all": ["css/admin.css"]}

    form = PublishableForm
    change_form_template = "admin/articles/change_form.html"
    object_history_template = "admin/articles/object_history.html"
    date_hierarchy = "published_at"
    autocomplete_fields = ["tags"]
    readonly_fields = [
        "status_label",
        "created_at",
        "updated_at",
        "created_by",
        "source",
        "suggested_tags",
    ]
    actions = ["publish_selected", "unpublish_selected", "add_suggested_tags"]
    list_per_page = 50

    # Permissions: reporters edit their own drafts; editors publish.

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or can_edit(request.user, obj)

    def has_publish_permission(self, request):
        return can_publish(request.user, self.model)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not can_publish(request.user, self.model):
            fields += ["published_at", "embargo_until", "featured"]
        elif getattr(request, "restoring_revision", None):
            # A restore brings back text, never a schedule.
            fields += ["published_at", "embargo_until"]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        move = request.POST.get("_move")
        if move:
            try:
                perform(obj, move, user=request.user)
            except TransitionNotAllowed as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                obj.refresh_from_db()
                self.message_user(
                    request,
                    f"{MOVES[move].done}: now {self.status_label(obj).lower()}.",
                    messages.SUCCESS,
                )

    def revision_view(self, request, object_id, version_id, extra_context=None):
        # Restoring starts from an old revision on purpose: no version check.
        # Revisions hold no workflow fields; the item keeps its current ones.
        item = self.get_object(request, unquote(object_id))
        if item is not None:
            request.restoring_revision = {
                name: getattr(item, name) for name in WORKFLOW_FIELDS
            }
        return super().revision_view(request, object_id, version_id, extra_context)

    def get_object(self, request, object_id, from_field=None):
        item = super().get_object(request, object_id, from_field)
        kept = getattr(request, "restoring_revision", None)
        if item is not None and kept:
            for name, value in kept.items():
                setattr(item, name, value)
        return item

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        extra = {"user": request.user}
        if getattr(request, "restoring_revision", None):
            extra["check_version"] = False
        return type(form.__name__, (form,), extra)

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        item = obj or self.model(created_by=request.user)
        context["workflow_moves"] = allowed_moves(item, request.user)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Display.

    @admin.display(description="status", ordering="status")
    def status_label(self, item):
        if item.is_embargoed and item.status == Status.PUBLISHED:
            local = timezone.localtime(item.published_at)
            return f"Scheduled for {local:%Y-%m-%d %H:%M} (embargo)"
        if item.is_scheduled:
            local = timezone.localtime(item.published_at)
            return f"Scheduled for {local:%Y-%m-%d %H:%M}"
        return item.get_status_display()

    @admin.display(description="tags")
    def tag_list(self, item):
        return ", ".join(tag.name for tag in item.tags.all())

    @admin.display(description="suggested tags")
    def suggested_tags(self, item):
        if item.pk is None:
            return "Save first: tags are suggested from the text."
        missing = [tag for tag in suggest_tags(item) if tag not in item.tags.all()]
        if not missing:
            return "None: every tag the text mentions is set."
        return (
            ", ".join(tag.name for tag in missing)
            + " (add them with the “Add suggested tags” action, or in Tags above)"
        )

    # Bulk actions, each item through the workflow.

    @admin.action(
        description="Publish selected %(verbose_name_plural)s",
        permissions=["publish"],
    )
    def publish_selected(self, request, queryset):
        self._move_all(request, queryset, "publish")

    @admin.action(
        description="Unpublish selected %(verbose_name_plural)s",
        permissions=["publish"],
    )
    def unpublish_selected(self, request, queryset):
        self._move_all(request, queryset, "unpublish")

    @admin.action(
        description="Add suggested tags to selected %(verbose_name_plural)s",
        permissions=["change"],
    )
    def add_suggested_tags(self, request, queryset):
        tagger = Tagger.from_database()
        added = 0
        with transaction.atomic():
            for item in self._locked(queryset):
                if not can_edit(request.user, item):
                    continue
                before = set(item.tags.values_list("pk", flat=True))
                item.tags.add(*suggest_tags(item, tagger=tagger))
                added += len(set(item.tags.values_list("pk", flat=True)) - before)
        self.message_user(request, f"Added {added} suggested tags.", messages.SUCCESS)

    def _move_all(self, request, queryset, move):
        # A refusal writes nothing (perform() checks first): it is reported
        # and the others are moved. Anything else raised undoes them all.
        done, refused = [], []
        with transaction.atomic():
            for item in self._locked(queryset):
                if item.status == MOVES[move].target:
                    done.append(item)  # already there (a scheduled story stays so)
                    continue
                try:
                    perform(item, move, user=request.user)
                except TransitionNotAllowed as error:
                    refused.append(f"“{item}”: {error}")
                else:
                    done.append(item)
        if done:
            scheduled = sum(item.is_scheduled for item in done)
            note = {
                "publish": (
                    f" {scheduled} of them go live at their scheduled time."
                    if scheduled
                    else ""
                ),
                "unpublish": "; readers no longer see them",
            }.get(move, "")
            text = f"{MOVES[move].done} {len(done)} {self._name(len(done))}"
            text = f"{text}{note}" if note.startswith(";") else f"{text}.{note}"
            self.message_user(
                request, text + ("." if note.startswith(";") else ""), messages.SUCCESS
            )
        for refusal in refused:
            self.message_user(request, refusal, messages.WARNING)

    def _locked(self, queryset):
        # Lock only the selected rows: PostgreSQL cannot lock the nullable side
        # of the list's outer joins (source document, linked story).
        return queryset.select_related(None).select_for_update(of=("self",))

    def _name(self, count):
        meta = self.model._meta
        return meta.verbose_name if count == 1 else meta.verbose_name_plural

    # Revisions: history with the workflow's record, compare, restore.

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name=f"{opts.app_label}_{opts.model_name}_compare",
            ),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        item = self.get_object(request, unquote(object_id))
        if item is None or not self.has_view_or_change_permission(request, item):
            raise PermissionDenied
        versions = Version.objects.get_for_object(item).select_related("revision__user")
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {item}",
            "opts": opts,
            "object": item,
            "versions": [
                {
                    "version": version,
                    "restore_url": reverse(
                        f"admin:{opts.app_label}_{opts.model_name}_revision",
                        args=[item.pk, version.pk],
                    ),
                }
                for version in versions
            ],
            "transitions": history(item),
            "compare_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_compare", args=[item.pk]
            ),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.object_history_template, context)

    def compare_view(self, request, object_id):
        item = self.get_object(request, unquote(object_id))
        if item is None or not self.has_view_or_change_permission(request, item):
            raise PermissionDenied
        versions = Version.objects.get_for_object(item)
        try:
            chosen = sorted(
                (versions.get(pk=int(request.GET[key])) for key in ("a", "b")),
                key=lambda version: version.revision.date_created,
            )
        except (KeyError, ValueError, Version.DoesNotExist) as error:
            raise Http404("Choose two revisions of this item to compare.") from error
        opts = self.model._meta
        return TemplateResponse(
            request,
            "admin/articles/compare.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Compare revisions: {item}",
                "opts": opts,
                "object": item,
                "older": chosen[0],
                "newer": chosen[1],
                "changes": compare(*chosen),
            },
        )


class HeadlineInline(admin.TabularInline):
    model = Headline
    fields = ["text", "status", "published_at"]
    readonly_fields = ["text", "status", "published_at"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "headlines that point to this story"

    def has_add_permission(self, request, obj=None):
        return False


class CorrectionInline(admin.StackedInline):
    """Corrections are appended, never edited or deleted."""

    model = Correction
    fields = ["text", "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]
    extra = 0
    can_delete = False
    verbose_name_plural = "corrections (public; they cannot be changed or removed)"

    def has_add_permission(self, request, obj=None):
        return obj is not None and request.user.has_perm("articles.correct_article")

    def has_change_permission(self, request, obj=None):
        # Without it the admin shows saved corrections read-only (and ignores
        # anything posted for them) while a new one can still be typed.
        return False


@admin.register(Article)
class ArticleAdmin(PublishableAdmin):
    list_display = [
        "headline",
        "status_label",
        "published_at",
        "tag_list",
        "needs_review",
        "featured",
        "updated_at",
    ]
    list_display_links = ["headline"]
    list_filter = ["status", "needs_review", "featured", "tags__kind", "tags"]
    list_select_related = ["source"]
    search_fields = ["headline", "dek", "body", "byline", "slug"]
    prepopulated_fields = {"slug": ["headline"]}
    inlines = [CorrectionInline, HeadlineInline]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "dek", "byline", "body"]}),
        (
            "Headline variants",
            {
                "classes": ["collapse"],
                "fields": ["seo_headline", "social_headline"],
            },
        ),
        (
            "Publication",
            {
                "fields": [
                    "status_label",
                    "published_at",
                    "embargo_until",
                    "featured",
                    "needs_review",
                    "tags",
                    "suggested_tags",
                    "preview_link",
                ]
            },
        ),
        (
            "Record",
            {
                "classes": ["collapse"],
                "fields": ["source", "created_by", "created_at", "updated_at"],
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "preview_link"]

    @admin.display(description="preview")
    def preview_link(self, article):
        if article.pk is None:
            return "Save first."
        if article.is_public:
            return format_html(
                '<a href="{}">Public page</a>', article.get_absolute_url()
            )
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Secret preview link</a> '
            '<span class="help">(shows it as readers will see it; share it only '
            "with people who may read it before publication; it expires in {} hours, "
            "and search engines do not index it)</span>",
            preview_url(article),
            settings.NEWSROOM_PREVIEW_MAX_AGE // 3600,
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is Correction:
            for correction in formset.save(commit=False):
                correction.created_by = request.user
                correction.save()
            return
        super().save_formset(request, form, formset, change)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "dek":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Headline)
class HeadlineAdmin(PublishableAdmin):
    list_display = [
        "text",
        "status_label",
        "published_at",
        "tag_list",
        "linked_article",
        "updated_at",
    ]
    list_filter = ["status", ("article", admin.EmptyFieldListFilter), "tags"]
    list_select_related = ["article"]
    search_fields = ["text", "slug", "article__headline"]
    prepopulated_fields = {"slug": ["text"]}
    autocomplete_fields = ["tags", "article"]
    fieldsets = [
        (None, {"fields": ["text", "slug", "article"]}),
        (
            "Publication",
            {
                "fields": [
                    "status_label",
                    "published_at",
                    "embargo_until",
                    "tags",
                    "suggested_tags",
                ]
            },
        ),
        (
            "Record",
            {
                "classes": ["collapse"],
                "fields": ["source", "created_by", "created_at", "updated_at"],
            },
        ),
    ]
    actions = [*PublishableAdmin.actions, "develop_into_story"]

    @admin.action(
        description="Develop into a story draft (one headline)",
        permissions=["add_story"],
    )
    def develop_into_story(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Choose exactly one headline to develop.", messages.WARNING
            )
            return None
        # Locked: two editors developing the same headline get one story.
        headline = self._locked(queryset).get()
        if headline.article_id is not None:
            self.message_user(
                request, f"“{headline}” already has its story.", messages.WARNING
            )
            return None
        article = develop(headline, user=request.user)
        self.message_user(
            request,
            f"Started a draft from “{headline}”; the headline now points to it.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:articles_article_change", args=[article.pk])
        )

    def has_add_story_permission(self, request):
        return request.user.has_perm("articles.add_article")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="story", ordering="article__headline")
    def linked_article(self, headline):
        if headline.article is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:articles_article_change", args=[headline.article.pk]),
            headline.article.headline,
        )


@admin.register(SourceDocument)
class SourceDocumentAdmin(AtomicActionsMixin, admin.ModelAdmin):
    list_display = ["name", "size", "created_at", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["name", "sha256", "size", "created_at", "updated_at", "items"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="imported items")
    def items(self, document):
        headlines = document.headlines.order_by("source_position")
        return format_html_join(
            "", "<div>{}. {}</div>", ((h.source_position, h.text) for h in headlines)
        )


class NewsroomUserAdmin(AtomicActionsMixin, UserAdmin):
    """A chief editor manages people's roles, never their own powers."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions", "last_login", "date_joined"]
        return fields


User = get_user_model()
admin.site.unregister(User)
admin.site.register(User, NewsroomUserAdmin)
