"""
Bookkeeping that must happen however an item is changed: in the admin, the
API, the seed import or a shell.
"""

import reversion
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_save,
    pre_delete,
    pre_save,
)
from django.dispatch import receiver
from django.utils import timezone

from articles.cache import content_changed
from articles.models import Article, Correction, Headline, Tag, Withdrawal

KINDS = {Article: Withdrawal.Kind.ARTICLE, Headline: Withdrawal.Kind.HEADLINE}


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


@receiver(pre_save, sender=Article)
@receiver(pre_save, sender=Headline)
def remember_whether_public(sender, instance, raw=False, **kwargs):
    """Note, before a save, whether readers could see the item until now."""
    instance._was_public = (
        not raw
        and instance.pk is not None
        and sender.objects.published().filter(pk=instance.pk).exists()
    )


@receiver(post_save, sender=Article)
@receiver(post_save, sender=Headline)
def record_withdrawal(sender, instance, raw=False, **kwargs):
    """Record that a public item stopped being public with this save."""
    was_public = getattr(instance, "_was_public", False)
    if was_public and not instance.is_public:
        Withdrawal.objects.create(
            kind=KINDS[sender],
            object_id=instance.pk,
            slug=instance.slug,
            reason=Withdrawal.Reason.UNPUBLISHED,
        )
    if sender is Article and not raw and was_public != instance.is_public:
        # Headlines show a link to their story only while it is public.
        Headline.objects.filter(article=instance).update(updated_at=timezone.now())


@receiver(post_save, sender=Tag)
def touch_items_of_a_changed_tag(sender, instance, created, raw=False, **kwargs):
    """A renamed tag changes every story and headline that shows it."""
    if created or raw:
        return
    now = timezone.now()
    Article.objects.filter(tags=instance).update(updated_at=now)
    Headline.objects.filter(tags=instance).update(updated_at=now)


@receiver(pre_delete, sender=Article)
def touch_headlines_of_a_deleted_story(sender, instance, **kwargs):
    """Headlines lose their link to a deleted story: they changed."""
    Headline.objects.filter(article=instance).update(updated_at=timezone.now())


@receiver(post_delete, sender=Article)
@receiver(post_delete, sender=Headline)
def record_deletion(sender, instance, **kwargs):
    """Record that a public item was deleted."""
    if instance.is_public:
        Withdrawal.objects.create(
            kind=KINDS[sender],
            object_id=instance.pk,
            slug=instance.slug,
            reason=Withdrawal.Reason.DELETED,
        )


@receiver(post_save, sender=Correction)
@receiver(post_delete, sender=Correction)
def touch_corrected_story(sender, instance, raw=False, **kwargs):
    """
    A correction changes its story: move the story's ``updated_at``.

    The story page, its feed entries, the sitemaps and the API's change feed
    all date the story from it, so readers and mirrors see the correction.
    """
    if raw:
        return
    Article.objects.filter(pk=instance.article_id).update(updated_at=timezone.now())


@receiver(post_save, sender=Article)
@receiver(post_save, sender=Headline)
def keep_revision(sender, instance, raw=False, update_fields=None, **kwargs):
    """
    Keep a revision of every edit, wherever it comes from.

    Requests (admin, API) and the seed import wrap their work in a revision
    that closes after tags are set; a save anywhere else gets one of its own.
    Saves of a few fields (the workflow's status changes) are not edits.
    """
    if raw or update_fields is not None:
        return
    if reversion.is_active():
        reversion.add_to_revision(instance)
    else:
        with reversion.create_revision():
            reversion.add_to_revision(instance)


# Everything readers see is made of these rows.
READER_FACING = (Article, Headline, Tag, Correction, Withdrawal)


def start_new_generation(sender, **kwargs):
    """Any change to what readers see retires every cached public response."""
    content_changed()


for model in READER_FACING:
    post_save.connect(start_new_generation, sender=model)
    post_delete.connect(start_new_generation, sender=model)
for through in (Article.tags.through, Headline.tags.through):
    m2m_changed.connect(start_new_generation, sender=through)
