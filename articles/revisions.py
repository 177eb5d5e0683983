"""
Revisions of stories and headlines (kept by django-reversion) made readable:
what changed between two of them, and since the version an editor started
from.
"""

import difflib
import json
from dataclasses import dataclass
from datetime import datetime

import reversion
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from reversion.models import Version

from articles.models import Article, Headline

# The fields an editor writes, in the order a reader meets them.
TEXT_FIELDS = {
    "article": [
        "headline",
        "seo_headline",
        "social_headline",
        "dek",
        "byline",
        "body",
        "slug",
        "featured",
        "needs_review",
        "tags",
    ],
    "headline": ["text", "slug", "article", "tags"],
}
# Not kept in revisions: the workflow's fields (restoring an old revision must
# never publish or withdraw anything: only the workflow does that, and the
# admin's restore puts the current values back) and the version counter
# (restoring must not move it back).
WORKFLOW_FIELDS = ["status", "published_at", "embargo_until", "version"]
EXCLUDED = [*WORKFLOW_FIELDS, "search_vector"]


def register() -> None:
    """Keep revisions of stories and headlines (called once, at start-up)."""
    for model in (Article, Headline):
        if not reversion.is_registered(model):
            reversion.register(model, exclude=EXCLUDED)


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str
    after: str

    @property
    def html(self) -> SafeString:
        """The change word by word: <del> for what went, <ins> for what came."""
        return word_diff(self.before, self.after)


def word_diff(before: str, after: str) -> SafeString:
    old, new = before.split(" "), after.split(" ")
    parts = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape(" ".join(old[a1:a2])))
            continue
        if a2 > a1:
            parts.append(f"<del>{escape(' '.join(old[a1:a2]))}</del>")
        if b2 > b1:
            parts.append(f"<ins>{escape(' '.join(new[b1:b2]))}</ins>")
    return mark_safe(" ".join(parts))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def raw_fields(version: Version) -> dict:
    """The version's stored fields, as serialized (no model instance built)."""
    return json.loads(version.serialized_data)[0]["fields"]


def field_values(model_name: str, data: dict) -> dict[str, str]:
    return {name: _text(data.get(name)) for name in TEXT_FIELDS[model_name]}


def compare(older: Version, newer: Version) -> list[FieldChange]:
    """Return the fields that differ between two versions of one item."""
    model_name = older.content_type.model
    before = field_values(model_name, raw_fields(older))
    after = field_values(model_name, raw_fields(newer))
    return [
        FieldChange(name, before[name], after[name])
        for name in TEXT_FIELDS[model_name]
        if before[name] != after[name]
    ]


def changes_since(item, moment: datetime) -> list[FieldChange]:
    """Return what changed in ``item``'s text after ``moment``, per revisions."""
    versions = list(Version.objects.get_for_object(item).select_related("revision"))
    if not versions or versions[0].revision.date_created <= moment:
        return []
    before = next((v for v in versions if v.revision.date_created <= moment), None)
    if before is None:
        return []
    return compare(before, versions[0])
