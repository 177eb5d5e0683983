import json

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles.freshness import latest
from articles.middleware import allow_inline_script
from articles.rendering import xml_safe

register = template.Library()

# Inside <script>, only "<" can end the element ("</script>"); "&" and ">" are
# escaped too, as Django's json_script does, so no string can break out.
JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def json_ld(context, data) -> str:
    """Render ``data`` as a JSON-LD script element, safely escaped."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(
        JSON_SCRIPT_ESCAPES
    )
    allow_inline_script(context["request"], text)
    return format_html(
        '<script type="application/ld+json">{}</script>', mark_safe(text)
    )


@register.simple_tag(takes_context=True)
def absolute(context, path: str) -> str:
    """Return ``path`` as an absolute URL on the host the request came to."""
    return context["request"].build_absolute_uri(path)


@register.simple_tag(takes_context=True)
def page_url(context, number: int, param: str = "page") -> str:
    """Return the current URL with ``?page=`` set, keeping the other parameters."""
    query = context["request"].GET.copy()
    if number == 1:
        query.pop(param, None)
    else:
        query[param] = number
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else context["request"].path


@register.simple_tag(takes_context=True)
def article_json_ld(context, article) -> str:
    """Render schema.org NewsArticle data for a story page."""
    request = context["request"]
    url = request.build_absolute_uri(article.get_absolute_url())
    publisher = {"@type": "Organization", "name": settings.NEWSROOM_SITE_NAME}
    corrections = list(article.corrections.all())
    modified = latest(
        article.updated_at,
        article.published_at,
        *(correction.created_at for correction in corrections),
    )
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        # Google shows at most 110 characters of it.
        "headline": article.search_headline[:110],
        "description": article.dek,
        "datePublished": article.published_at.isoformat(),
        "dateModified": modified.isoformat(),
        "author": (
            {"@type": "Person", "name": article.byline} if article.byline else publisher
        ),
        "publisher": publisher,
        "keywords": [tag.name for tag in article.tags.all()],
        "isAccessibleForFree": True,
    }
    if corrections:
        data["correction"] = [
            {
                "@type": "CorrectionComment",
                "text": correction.text,
                "datePublished": correction.created_at.isoformat(),
                "url": f"{url}#correction-{correction.pk}",
            }
            for correction in corrections
        ]
    return json_ld(context, data)


@register.filter(name="xml_safe")
def xml_safe_filter(text) -> str:
    """Drop the characters that XML 1.0 cannot carry (then autoescape as usual)."""
    return xml_safe(str(text))
