from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from articles.models import Article, Headline, SourceDocument, Tag
from articles.tagging import normalize_forms


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
class TagAdmin(admin.ModelAdmin):
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


class PublishableAdmin(admin.ModelAdmin):
    """What articles and headlines share: status, scheduling, bulk actions."""

    class Media:
        css = {"all": ["css/admin.css"]}

    date_hierarchy = "published_at"
    autocomplete_fields = ["tags"]
    readonly_fields = ["created_at", "updated_at", "source"]
    actions = ["publish_selected", "unpublish_selected"]
    list_per_page = 50

    @admin.display(description="status", ordering="status")
    def status_label(self, item):
        if item.is_scheduled:
            local = timezone.localtime(item.published_at)
            return f"Scheduled for {local:%Y-%m-%d %H:%M}"
        return item.get_status_display()

    @admin.display(description="tags")
    def tag_list(self, item):
        return ", ".join(tag.name for tag in item.tags.all())

    @admin.action(
        description="Publish selected %(verbose_name_plural)s",
        permissions=["change"],
    )
    def publish_selected(self, request, queryset):
        with transaction.atomic():
            items = list(self._locked(queryset))
            for item in items:
                item.publish()
        scheduled = sum(item.is_scheduled for item in items)
        self.message_user(
            request,
            ngettext(
                "Published %(count)d %(name)s.",
                "Published %(count)d %(name)s.",
                len(items),
            )
            % {"count": len(items), "name": self._name(len(items))}
            + (
                f" {scheduled} of them go live at their scheduled time."
                if scheduled
                else ""
            ),
            messages.SUCCESS,
        )

    @admin.action(
        description="Unpublish selected %(verbose_name_plural)s",
        permissions=["change"],
    )
    def unpublish_selected(self, request, queryset):
        with transaction.atomic():
            items = list(self._locked(queryset))
            for item in items:
                item.unpublish()
        self.message_user(
            request,
            f"Unpublished {len(items)} {self._name(len(items))}; "
            "readers no longer see them.",
            messages.SUCCESS,
        )

    def _locked(self, queryset):
        # Lock only the selected rows: PostgreSQL cannot lock the nullable side
        # of the list's outer joins (source document, linked story).
        return queryset.select_related(None).select_for_update(of=("self",))

    def _name(self, count):
        meta = self.model._meta
        return meta.verbose_name if count == 1 else meta.verbose_name_plural


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
    inlines = [HeadlineInline]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "dek", "byline", "body"]}),
        (
            "Publication",
            {"fields": ["status", "published_at", "featured", "needs_review", "tags"]},
        ),
        (
            "Record",
            {"classes": ["collapse"], "fields": ["source", "created_at", "updated_at"]},
        ),
    ]

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
        ("Publication", {"fields": ["status", "published_at", "tags"]}),
        (
            "Record",
            {"classes": ["collapse"], "fields": ["source", "created_at", "updated_at"]},
        ),
    ]

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
class SourceDocumentAdmin(admin.ModelAdmin):
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
