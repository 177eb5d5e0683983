"""
The editorial workflow, in one place: which moves exist, who may make them,
and the record of each.

    Draft ──submit──▶ In review ──publish──▶ Published (scheduled while its
      ▲                  │                    time is in the future)
      └────return────────┘                          │
      ▲                                         unpublish
      └──────────reopen──────── Unpublished ◀───────┘
                                    │
                                 publish

Reporters write and submit their own drafts; editors (the ``publish_*``
permission) do everything else. Every route — admin form, admin actions, the
write API — goes through ``perform()``, so a reporter cannot publish by any of
them. An embargo turns "publish now" into "publish when the embargo ends".
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from articles.models import Article, Headline, Status, Transition

Item = Article | Headline


class TransitionNotAllowed(Exception):
    """A move the workflow refuses, with a message fit for the editor."""


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    needs_publish_permission: bool
    done: str  # what the editor is told afterwards


MOVES = {
    move.name: move
    for move in [
        Move(
            "submit",
            "Submit for review",
            frozenset({Status.DRAFT}),
            Status.REVIEW,
            False,
            "Submitted for review",
        ),
        Move(
            "return",
            "Send back to draft",
            frozenset({Status.REVIEW}),
            Status.DRAFT,
            True,
            "Sent back to draft",
        ),
        Move(
            "publish",
            "Publish",
            frozenset({Status.DRAFT, Status.REVIEW, Status.UNPUBLISHED}),
            Status.PUBLISHED,
            True,
            "Published",
        ),
        Move(
            "unpublish",
            "Unpublish",
            frozenset({Status.PUBLISHED}),
            Status.UNPUBLISHED,
            True,
            "Unpublished",
        ),
        Move(
            "reopen",
            "Reopen as draft",
            frozenset({Status.UNPUBLISHED}),
            Status.DRAFT,
            True,
            "Reopened as draft",
        ),
    ]
}


def _permission(item: Item | type[Item], action: str) -> str:
    opts = item._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def can_publish(user, item: Item | type[Item]) -> bool:
    """Say whether ``user`` may publish, schedule and unpublish such items."""
    return bool(user and user.is_active and user.has_perm(_permission(item, "publish")))


def can_edit(user, item: Item) -> bool:
    """
    Say whether ``user`` may change ``item``'s text.

    Editors may change anything; a reporter only their own story while it is
    a draft (once submitted, it is the editors' until they send it back).
    """
    if not (user and user.is_active and user.has_perm(_permission(item, "change"))):
        return False
    if can_publish(user, item):
        return True
    return item.created_by_id == user.pk and item.status == Status.DRAFT


def move_to(item: Item, target: str) -> Move | None:
    """Return the move that takes ``item`` from its status to ``target``."""
    return next(
        (
            move
            for move in MOVES.values()
            if item.status in move.sources and move.target == target
        ),
        None,
    )


def allowed_moves(item: Item, user) -> list[Move]:
    """Return the moves ``user`` may make on ``item`` now."""
    return [move for move in MOVES.values() if refuse(item, move, user) is None]


def refuse(item: Item, move: Move, user) -> str | None:
    """Say why ``user`` may not make ``move`` on ``item``, or None if they may."""
    if item.status not in move.sources:
        sources = ", ".join(Status(source).label.lower() for source in move.sources)
        return (
            f"“{move.label}” is not possible for an item that is "
            f"{Status(item.status).label.lower()}; only from: {sources}."
        )
    if move.needs_publish_permission:
        if not can_publish(user, item):
            return f"Only an editor may “{move.label.lower()}”."
    elif not (can_edit(user, item) or can_publish(user, item)):
        return "Only the reporter who wrote it, or an editor, may submit it."
    return None


def perform(
    item: Item,
    name: str,
    *,
    user,
    at: datetime | None = None,
    note: str = "",
) -> Transition:
    """
    Make move ``name`` on ``item`` as ``user`` and record it.

    ``at`` schedules a publication. Raise TransitionNotAllowed, with nothing
    changed, when the move does not exist, does not start from the item's
    status, or is not the user's to make.
    """
    move = MOVES.get(name)
    if move is None:
        raise TransitionNotAllowed(f"There is no “{name}” step in the workflow.")
    refusal = refuse(item, move, user)
    if refusal:
        raise TransitionNotAllowed(refusal)
    from_status = item.status
    with transaction.atomic():
        if move.target == Status.PUBLISHED:
            item.publish(at=at)
        else:
            item.status = move.target
            item.save(update_fields=["status", "updated_at"])
        # A move changes the item under anyone editing it: their form, based
        # on the old version, must not save over the new status.
        type(item).objects.filter(pk=item.pk).update(version=F("version") + 1)
        item.version += 1
        return Transition.objects.create(
            content_type=ContentType.objects.get_for_model(item),
            object_id=item.pk,
            action=move.name,
            from_status=from_status,
            to_status=item.status,
            published_at=item.published_at,
            user=user if user and user.is_authenticated else None,
            note=note or _describe(item),
        )


def _describe(item: Item) -> str:
    if item.is_scheduled:
        when = timezone.localtime(item.published_at)
        if item.embargo_until and item.published_at == item.embargo_until:
            return f"Scheduled for {when:%Y-%m-%d %H:%M} when the embargo ends."
        return f"Scheduled for {when:%Y-%m-%d %H:%M}."
    return ""


def history(item: Item):
    """Return the item's transitions, newest first."""
    return Transition.objects.filter(
        content_type=ContentType.objects.get_for_model(item), object_id=item.pk
    ).select_related("user")


def develop(headline: Headline, *, user) -> Article:
    """Start a story draft from a headline, and point the headline to it."""
    with transaction.atomic():
        article = Article.objects.create(
            headline=headline.text[: Article._meta.get_field("headline").max_length],
            body="",
            status=Status.DRAFT,
            created_by=user if user and user.is_authenticated else None,
        )
        article.tags.set(headline.tags.all())
        headline.article = article
        headline.save()
    return article
