"""Keep update times honest when a story's tags change without a save."""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone

from articles.models import Article, Headline


@receiver(m2m_changed, sender=Article.tags.through)
@receiver(m2m_changed, sender=Headline.tags.through)
def touch_when_tags_change(sender, instance, action, reverse, model, pk_set, **kwargs):
    """
    Bump ``updated_at`` of the stories or headlines whose tags changed.

    Tags show on their pages and in feeds, so a page's Last-Modified must
    move with them, whichever side of the relation the change came from.
    """
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:
        # ``instance`` is a Tag; ``pk_set`` the items added or removed.
        if pk_set:
            model.objects.filter(pk__in=pk_set).update(updated_at=timezone.now())
    elif pk_set or action == "post_clear":
        type(instance).objects.filter(pk=instance.pk).update(updated_at=timezone.now())
