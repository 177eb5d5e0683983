import re
from collections.abc import Mapping

from django.urls import reverse
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import Article, Correction, Headline, Tag

MAX_TAGS = 100
SLUG = re.compile(r"[-\w]+")


def absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


class TagRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["slug", "name", "kind"]


class TagSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The topic's page.")
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:tag-detail", lookup_field="slug"
    )
    article_count = serializers.IntegerField(
        read_only=True, help_text="Public stories with this tag."
    )
    headline_count = serializers.IntegerField(
        read_only=True, help_text="Public headlines with this tag."
    )
    feeds = serializers.SerializerMethodField(help_text="The topic's feeds.")

    class Meta:
        model = Tag
        fields = [
            "slug",
            "name",
            "kind",
            "description",
            "article_count",
            "headline_count",
            "url",
            "api_url",
            "feeds",
        ]

    def get_url(self, tag) -> str:
        return absolute(self, tag.get_absolute_url())

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "rss": {"type": "string", "format": "uri"},
                "atom": {"type": "string", "format": "uri"},
                "json": {"type": "string", "format": "uri"},
            },
        }
    )
    def get_feeds(self, tag) -> dict:
        return {
            name: absolute(self, reverse(f"articles:tag-feed-{name}", args=[tag.slug]))
            for name in ("rss", "atom", "json")
        }


class HeadlineRefSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:headline-detail", lookup_field="slug"
    )

    class Meta:
        model = Headline
        fields = ["slug", "text", "published_at", "api_url"]


class ArticleRefSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The story's page.")
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:article-detail", lookup_field="slug"
    )

    class Meta:
        model = Article
        fields = ["slug", "headline", "url", "api_url"]

    def get_url(self, article) -> str:
        return absolute(self, article.get_absolute_url())


class CorrectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Correction
        fields = ["text", "created_at"]
        read_only_fields = fields


class ArticleSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The story's page.")
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:article-detail", lookup_field="slug"
    )
    tags = TagRefSerializer(many=True, read_only=True)
    headlines = serializers.SerializerMethodField(
        help_text="Headlines that point to this story."
    )
    corrections = CorrectionSerializer(
        many=True,
        read_only=True,
        help_text="Public corrections to the story, oldest first.",
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "version",
            "headline",
            "seo_headline",
            "social_headline",
            "dek",
            "byline",
            "body",
            "body_html",
            "status",
            "featured",
            "published_at",
            "updated_at",
            "tags",
            "headlines",
            "corrections",
            "url",
            "api_url",
        ]

    def get_url(self, article) -> str:
        return absolute(self, article.get_absolute_url())

    @cached_property
    def headline_refs(self) -> serializers.ListSerializer:
        # One for the whole list: building a serializer's fields costs more
        # than serializing a headline (a third of a 20-story page's time).
        return HeadlineRefSerializer(many=True, context=self.context)

    @extend_schema_field(HeadlineRefSerializer(many=True))
    def get_headlines(self, article) -> list:
        # The viewset prefetches the headlines the reader may see.
        headlines = getattr(article, "visible_headlines", None)
        if headlines is None:
            headlines = Headline.objects.published().filter(article=article)
        return self.headline_refs.to_representation(headlines)


class HeadlineSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:headline-detail", lookup_field="slug"
    )
    tags = TagRefSerializer(many=True, read_only=True)
    article = serializers.SerializerMethodField(
        help_text="The story that tells this headline in full, if any."
    )

    class Meta:
        model = Headline
        fields = [
            "id",
            "slug",
            "version",
            "text",
            "status",
            "published_at",
            "updated_at",
            "tags",
            "article",
            "api_url",
        ]

    @extend_schema_field(ArticleRefSerializer(allow_null=True))
    def get_article(self, headline) -> dict | None:
        article = headline.article
        # A link to a story readers may not see would give its slug away.
        if article is None or not (article.is_public or self.context.get("editor")):
            return None
        return ArticleRefSerializer(article, context=self.context).data


class SlugReferenceField(serializers.SlugRelatedField):
    """
    An item named by its slug. What cannot be a slug is not looked up: it
    names nothing, and PostgreSQL would refuse a NUL character in it.
    """

    def to_internal_value(self, data):
        if isinstance(data, str) and not SLUG.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class TagSlugsField(SlugReferenceField):
    default_error_messages = {
        "does_not_exist": "Unknown tag “{value}”: use the slug of an existing tag.",
        "invalid": "A tag is given by its slug, as text.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Tag.objects.all(), **kwargs)


class PublishableWriteSerializer(serializers.ModelSerializer):
    """
    Shared by the write serializers. ``status`` is a wish the viewset hands to
    the workflow (articles/workflow.py), never written directly; ``version``,
    when given, must be the item's current one (else 409).
    """

    tags = TagSlugsField(
        many=True, required=False, help_text=f"Tag slugs, at most {MAX_TAGS}."
    )
    version = serializers.IntegerField(
        required=False,
        write_only=True,
        help_text="The version your edit is based on; a newer one on the server "
        "means someone else saved in between (409).",
    )

    def to_internal_value(self, data):
        # Each tag is looked up on its own: count them before that starts.
        tags = data.get("tags") if isinstance(data, Mapping) else None
        if isinstance(tags, list) and len(tags) > MAX_TAGS:
            raise serializers.ValidationError({"tags": [f"At most {MAX_TAGS} tags."]})
        return super().to_internal_value(data)


class ArticleWriteSerializer(PublishableWriteSerializer):
    class Meta:
        model = Article
        fields = [
            "slug",
            "headline",
            "seo_headline",
            "social_headline",
            "dek",
            "byline",
            "body",
            "status",
            "featured",
            "published_at",
            "embargo_until",
            "tags",
            "version",
        ]
        extra_kwargs = {"slug": {"required": False}}


class HeadlineWriteSerializer(PublishableWriteSerializer):
    article = SlugReferenceField(
        slug_field="slug",
        queryset=Article.objects.all(),
        required=False,
        allow_null=True,
        help_text="The slug of the story that tells this headline in full.",
    )

    class Meta:
        model = Headline
        fields = [
            "slug",
            "text",
            "status",
            "published_at",
            "embargo_until",
            "tags",
            "article",
            "version",
        ]
        extra_kwargs = {"slug": {"required": False}}
