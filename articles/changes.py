"""
The change feed: what a mirror must do to catch up since its last visit.

Every public story and headline that became public or changed after a
position is reported as ``created`` or ``updated``, and every one that
stopped being public (unpublished, moved back to draft, rescheduled, deleted:
see Withdrawal) as ``withdrawn``. Changes come in the order they happened;
a position is the (time, source, id) of the last change a client has seen,
handed out as an opaque cursor. Delivery is at least once: the last cursor
of a feed stays a few seconds behind the present, so that a transaction that
committed late is not skipped, and a client may see a change twice.
"""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from articles.models import Article, Headline, Withdrawal

SETTLE = timedelta(seconds=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOURCES = {"article": Article, "headline": Headline}
FIELDS = ["origin", "row", "item_type", "item_id", "slug", "changed_at", "public_since"]


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Position:
    """
    Where a client is in the feed: the (time, source, row) of the last change
    it has seen, and ``base``, where the sync now under way started (None on
    a first sync). Items that became public after ``base`` are new to it.
    """

    at: datetime
    source: str = ""
    row: int = 0
    base: datetime | None = field(default=None, compare=False)

    def encode(self) -> str:
        base = self.base.isoformat() if self.base else ""
        text = f"{self.at.isoformat()}|{self.source}|{self.row}|{base}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            at, source, row, base = base64.urlsafe_b64decode(padded).decode().split("|")
            position = cls(
                _utc(datetime.fromisoformat(at)),
                source,
                int(row),
                _utc(datetime.fromisoformat(base)) if base else None,
            )
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as error:
            raise InvalidCursor("This cursor is not one the API gave out.") from error
        if position.source not in {"", *SOURCES, "w"}:
            raise InvalidCursor("This cursor is not one the API gave out.")
        return position


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a cursor's times carry a time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Change:
    type: str
    action: str
    id: int
    slug: str
    changed_at: datetime


def _after(position: Position | None, source: str, time_field: str) -> Q:
    """Rows of ``source`` that come after ``position`` in (time, source, row)."""
    if position is None:
        return Q()
    later = Q(**{f"{time_field}__gt": position.at})
    same_time = Q(**{time_field: position.at})
    if source > position.source:
        return later | same_time
    if source == position.source:
        return later | (same_time & Q(pk__gt=position.row))
    return later


def _published(model, source: str, position: Position | None) -> QuerySet:
    queryset = model.objects.published()
    if position is not None:
        # Indexed, coarse first; the exact (time, source, row) test follows.
        queryset = queryset.filter(
            Q(updated_at__gte=position.at) | Q(published_at__gte=position.at)
        )
    return (
        queryset.annotate(
            changed_at=Greatest("updated_at", "published_at"),
            origin=Value(source),
            row=F("pk"),
            item_type=Value(source),
            item_id=F("pk"),
            # A story created after a sync is new to it even when its
            # publication time was set earlier (backdated, imported).
            public_since=Greatest("published_at", "created_at"),
        )
        .filter(_after(position, source, "changed_at"))
        .order_by()
        .values(*FIELDS)
    )


def _withdrawn(position: Position | None) -> QuerySet:
    # A withdrawal is moot when the item is public again: its upsert says so.
    public_again = Q()
    for kind, model in SOURCES.items():
        public_again |= Q(kind=kind) & Exists(
            model.objects.published().filter(pk=OuterRef("object_id"))
        )
    return (
        Withdrawal.objects.exclude(public_again)
        .annotate(
            changed_at=F("withdrawn_at"),
            origin=Value("w"),
            row=F("pk"),
            item_type=F("kind"),
            item_id=F("object_id"),
            public_since=Value(
                None, output_field=Withdrawal._meta.get_field("withdrawn_at")
            ),
        )
        .filter(_after(position, "w", "withdrawn_at"))
        .order_by()
        .values(*FIELDS)
    )


def changes_since(
    position: Position | None, *, limit: int
) -> tuple[list[Change], Position | None, bool]:
    """
    Return up to ``limit`` changes after ``position``, the position to ask
    from next time, and whether more changes are waiting already.
    """
    parts = [_published(Headline, "headline", position)]
    if position is not None:
        # A first sync has nothing to withdraw.
        parts.append(_withdrawn(position))
    rows = list(
        _published(Article, "article", position)
        .union(*parts, all=True)
        .order_by("changed_at", "origin", "row")[: limit + 1]
    )
    # What counts as new: whatever became public after this sync started,
    # which is where the previous one ended unless the cursor says otherwise.
    base = None if position is None else position.base or position.at
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        Change(
            type=row["item_type"],
            action=_action(row, base),
            id=row["item_id"],
            slug=row["slug"],
            changed_at=row["changed_at"],
        )
        for row in rows
    ]
    if has_more:
        last = rows[-1]
        # The sync goes on: keep where it started (for a first sync, before
        # anything, so that everything stays new).
        next_position = Position(
            last["changed_at"], last["origin"], last["row"], base=base or EPOCH
        )
    else:
        # The sync is done; the next one starts here. Stay a little behind
        # the present: a change stamped just now may belong to a transaction
        # that has not committed yet.
        settled = Position(timezone.now() - SETTLE)
        if rows:
            last = rows[-1]
            settled = min(
                settled, Position(last["changed_at"], last["origin"], last["row"])
            )
        elif position is not None:
            settled = min(settled, Position(position.at, position.source, position.row))
        next_position = settled
    return changes, next_position, has_more


def _action(row: dict, base: datetime | None) -> str:
    if row["origin"] == "w":
        return "withdrawn"
    if base is None or row["public_since"] > base:
        return "created"
    return "updated"
