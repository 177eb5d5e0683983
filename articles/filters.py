from datetime import UTC

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from articles.models import Article, Headline, Tag, TagKind
from articles.permissions import is_editor
from articles.search import MAX_QUERY_LENGTH, clean_query, matching
from articles.serializers import MAX_TAGS


class TagSlugsFilter(filters.BaseInFilter, filters.CharFilter):
    """``?tag=china,japan``: items with any of these tags."""

    def filter(self, queryset, value):
        if not value:
            return queryset
        if len(value) > MAX_TAGS:
            raise ValidationError(
                {self.field_name: [f"At most {MAX_TAGS} tags, comma-separated."]}
            )
        # Readers know only the tags that something public carries; a tag only
        # drafts carry must look exactly like one that does not exist.
        tags = (
            Tag.objects.all() if self.parent.editor else Tag.objects.carried_publicly()
        )
        known = set(tags.filter(slug__in=value).values_list("slug", flat=True))
        unknown = [slug for slug in value if slug not in known]
        if unknown:
            raise ValidationError(
                {self.field_name: [f"Unknown tag: {', '.join(unknown)}."]}
            )
        return queryset.tagged(Tag.objects.filter(slug__in=value))


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, refused (not a 500) when it cannot be a UTC time."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError) as error:
            raise forms.ValidationError(
                "That date and time is out of range."
            ) from error


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def true_or_false(value: str) -> bool:
    return value == "true"


class PublishableFilter(filters.FilterSet):
    tag = TagSlugsFilter(
        field_name="tag",
        help_text="Tag slugs, comma-separated: items with any of them.",
    )
    tag_kind = filters.ChoiceFilter(
        method="filter_tag_kind",
        choices=TagKind.choices,
        help_text="Items with a tag of this kind.",
    )
    published_after = UtcIsoDateTimeFilter(
        field_name="published_at",
        lookup_expr="gte",
        help_text="ISO 8601 date and time; items published at or after it.",
    )
    published_before = UtcIsoDateTimeFilter(
        field_name="published_at",
        lookup_expr="lt",
        help_text="ISO 8601 date and time; items published before it.",
    )
    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO 8601 date and time; items changed at or after it.",
    )
    q = filters.CharFilter(
        method="search",
        max_length=MAX_QUERY_LENGTH,
        help_text=f"Full-text search, as on the site's search page; at most "
        f"{MAX_QUERY_LENGTH} characters.",
    )

    @property
    def editor(self) -> bool:
        return is_editor(getattr(self.request, "user", None), self._meta.model)

    def filter_tag_kind(self, queryset, name, value):
        return queryset.tagged(Tag.objects.filter(kind=value))

    def search(self, queryset, name, value):
        query = clean_query(value)
        if not query.terms:
            return queryset.none()
        return matching(queryset, query)


class ArticleFilter(PublishableFilter):
    featured = filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=true_or_false,
        help_text="true or false.",
    )

    class Meta:
        model = Article
        fields = [
            "tag",
            "tag_kind",
            "featured",
            "published_after",
            "published_before",
            "updated_since",
            "q",
        ]


class HeadlineFilter(PublishableFilter):
    class Meta:
        model = Headline
        fields = [
            "tag",
            "tag_kind",
            "published_after",
            "published_before",
            "updated_since",
            "q",
        ]


class TagFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=TagKind.choices)

    class Meta:
        model = Tag
        fields = ["kind"]


class StrictOrderingFilter(OrderingFilter):
    """
    Like DRF's, but an unknown ordering is a 400 that says which are known,
    and an ordering asked for by a field that can be empty (an editor's
    drafts have no publication time) lists only the items that have it: a
    cursor cannot stand on an empty value, so there would be no next page.
    """

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if request.query_params.get(self.ordering_param) and ordering:
            field = ordering[0].lstrip("-")
            if queryset.model._meta.get_field(field).null:
                queryset = queryset.filter(**{f"{field}__isnull": False})
        return super().filter_queryset(request, queryset, view)

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len([field for field in fields if field]):
            allowed = ", ".join(
                f"{name}, -{name}"
                for name, _ in self.get_valid_fields(
                    queryset, view, {"request": request}
                )
            )
            raise ValidationError(
                {self.ordering_param: [f"Unknown ordering; use one of: {allowed}."]}
            )
        return valid
