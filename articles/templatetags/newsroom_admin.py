from datetime import timedelta

from django import template
from django.db.models import Count
from django.utils import timezone

from articles.models import Article, Correction, Status

register = template.Library()


@register.inclusion_tag("admin/articles/dashboard.html", takes_context=True)
def newsroom_dashboard(context):
    """The editorial desk at a glance, on the admin's front page."""
    user = context["request"].user
    if not user.has_perm("articles.view_article"):
        return {"show": False}
    now = timezone.now()
    counts = dict(
        Article.objects.order_by().values_list("status").annotate(Count("pk"))
    )
    return {
        "show": True,
        "statuses": [
            (label, counts.get(value, 0), value) for value, label in Status.choices
        ],
        "review_queue": Article.objects.filter(status=Status.REVIEW)
        .select_related("created_by")
        .order_by("updated_at")[:10],
        "scheduled": Article.objects.filter(
            status=Status.PUBLISHED,
            published_at__gt=now,
            published_at__lte=now + timedelta(days=7),
        ).order_by("published_at")[:20],
        "corrections": Correction.objects.select_related("article").order_by(
            "-created_at"
        )[:5],
    }
