"""Readable, unique URL slugs from headlines and names."""

import re

from django.db import models
from django.utils.text import slugify


def _letters(slug: str) -> int:
    return sum(char.isalnum() for char in slug)


def slug_from_text(text: str, *, max_length: int, fallback: str) -> str:
    """
    Return a slug for ``text`` of at most ``max_length`` characters.

    Latin text is folded to ASCII ("Café" → "cafe"); when folding would drop
    letters of another script ("习近平会见"), the slug keeps them instead of
    losing them; text with no letters at all gets ``fallback``. A long slug is
    cut at a hyphen so that no word is broken.
    """
    # Dashes and slashes separate words ("U.S.–India" is two words), but
    # slugify would drop them and glue the words together.
    text = re.sub(r"[\u2010-\u2015/]", " ", text)
    ascii_slug = slugify(text)
    unicode_slug = slugify(text, allow_unicode=True)
    slug = (
        ascii_slug if _letters(ascii_slug) >= _letters(unicode_slug) else unicode_slug
    )
    slug = slug or fallback
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug.strip("-") or fallback


def unique_slug(
    model: type[models.Model],
    text: str,
    *,
    fallback: str,
    max_length: int | None = None,
    exclude_pk: int | None = None,
) -> str:
    """
    Return a slug for ``text`` that no other row of ``model`` uses.

    A taken slug gets the first free suffix (``-2``, ``-3``, …), found with one
    query. The field's unique constraint still guards against a concurrent
    writer taking the same slug between this check and the insert.
    """
    if max_length is None:
        max_length = model._meta.get_field("slug").max_length
    # Leave room for a suffix so that it never has to cut into the base.
    base = slug_from_text(text, max_length=max_length - 6, fallback=fallback)
    taken = set(
        model._default_manager.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"
