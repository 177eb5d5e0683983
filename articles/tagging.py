"""
Find the tags of the controlled vocabulary in a piece of text.

Rules, in the order they are applied:

- Whole words only: a form matches when no letter or digit touches it on
  either side, so "Lee" is not found in "Leeds" and "US" not in "USB".
- Case, word by word: a word written in lower case ("semiconductors", the
  "war" of "Russia-Ukraine war") matches in any case, as headlines capitalise
  it; a word with a capital ("US", "Xi") matches only as written, so the
  pronoun "us" is never the United States.
- Spaces inside a form match any run of white space, a straight or curly
  apostrophe matches either, and a hyphen matches an en or em dash.
- Possessives come free: "Trump’s" and "Trump's" are "Trump" followed by an
  apostrophe, which is not a letter.
- The longest form wins where several start at the same place ("South Korean"
  before "South Korea", "Lee Jae Myung" before "Lee"), and a form inside a
  longer form of the same tag is not counted again; a form of another tag
  inside it is ("Israeli" in "Israeli settlements" names Israel too).
- Short forms (a surname on second reference: "Xi", "Lee") count only after the
  tag's name or an alias has appeared earlier in the same text.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from articles.models import Tag

MAX_FORM_LENGTH = 100
APOSTROPHES = "'’"
DASHES = "-–—"


def _canonical(text: str) -> str:
    """Fold the differences the rules ignore: white space runs and apostrophes."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(f"[{DASHES}]", "-", text.replace("'", "’"))


def form_key(form: str) -> str:
    """Return the key two forms clash on when they could match the same text."""
    return _canonical(form).casefold()


def normalize_forms(forms: object) -> list[str]:
    """
    Clean a list of forms as stored on a Tag: trimmed, no blanks, no repeats.

    Accept a list of strings, or one string with a form on each line (as typed
    into the admin). Raise ValueError naming the first unusable form.
    """
    if forms is None:
        return []
    if isinstance(forms, str):
        forms = forms.splitlines()
    if not isinstance(forms, list):
        raise ValueError("Expected a list of names.")
    cleaned: list[str] = []
    seen: set[str] = set()
    for form in forms:
        if not isinstance(form, str):
            raise ValueError(f"{form!r} is not text.")
        form = _canonical(form)
        if not form:
            continue
        if len(form) > MAX_FORM_LENGTH:
            raise ValueError(
                f"“{form[:30]}…” is longer than {MAX_FORM_LENGTH} characters."
            )
        if not any(char.isalnum() for char in form):
            raise ValueError(f"“{form}” has no letter or digit to match on.")
        if form_key(form) not in seen:
            seen.add(form_key(form))
            cleaned.append(form)
    return cleaned


def _form_pattern(form: str) -> str:
    words = []
    for word in _canonical(form).split(" "):
        pattern = re.escape(word)
        pattern = pattern.replace("’", f"[{APOSTROPHES}]")
        pattern = pattern.replace(re.escape("-"), f"[{DASHES}]")
        words.append(f"(?i:{pattern})" if word == word.lower() else pattern)
    return r"\s+".join(words)


@dataclass(frozen=True)
class Mention:
    tag: "Tag"
    start: int
    end: int
    text: str


class Tagger:
    """Match a fixed vocabulary against text; build once, use on many texts."""

    def __init__(self, tags: Iterable["Tag"]):
        # One pattern per tag, each form in a group of its own, longest first:
        # the group that matched says whether it was a short form. Scanning tag
        # by tag lets another tag's form nested in a longer one count too.
        self._patterns: list[tuple["Tag", re.Pattern, list[bool]]] = []
        for tag in tags:
            forms = [(_canonical(form), False) for form in tag.forms]
            forms += [(_canonical(form), True) for form in tag.short_forms]
            forms = sorted((f for f in forms if f[0]), key=lambda f: -len(f[0]))
            if not forms:
                continue
            alternatives = "|".join(f"({_form_pattern(form)})" for form, _ in forms)
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
            self._patterns.append((tag, pattern, [short for _, short in forms]))

    @classmethod
    def from_database(cls) -> "Tagger":
        from articles.models import Tag

        return cls(Tag.objects.only("pk", "name", "slug", "aliases", "short_forms"))

    def mentions(self, text: str) -> list[Mention]:
        """Return every mention of a tag in ``text``, in order."""
        found: list[Mention] = []
        for tag, pattern, is_short in self._patterns:
            introduced = False
            for match in pattern.finditer(text):
                if is_short[match.lastindex - 1] and not introduced:
                    continue
                introduced = True
                found.append(Mention(tag, match.start(), match.end(), match.group()))
        found.sort(key=lambda mention: mention.start)
        return found

    def tags(self, text: str) -> list["Tag"]:
        """Return the tags found in ``text``, most mentioned first."""
        counts: dict[int, int] = {}
        first: dict[int, Mention] = {}
        for mention in self.mentions(text):
            counts[mention.tag.pk] = counts.get(mention.tag.pk, 0) + 1
            first.setdefault(mention.tag.pk, mention)
        ranked = sorted(first, key=lambda pk: (-counts[pk], first[pk].start))
        return [first[pk].tag for pk in ranked]


def suggest_tags(item, *, tagger: Tagger | None = None) -> list["Tag"]:
    """Return the tags the tagger finds in a story's or headline's text."""
    tagger = tagger or Tagger.from_database()
    return tagger.tags(item.tagging_text)
