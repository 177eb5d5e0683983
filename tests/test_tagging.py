"""The tagger: the vocabulary's names, aliases and short forms found in text."""

import pytest
from django.core.exceptions import ValidationError

from articles.models import Tag, TagKind
from articles.tagging import Tagger, normalize_forms


@pytest.fixture
def tagger(vocabulary):
    return Tagger.from_database()


def names(tagger, text):
    return {tag.name for tag in tagger.tags(text)}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Lawmakers in the U.S. voted", "United States"),
        ("US troops stay", "United States"),
        ("Washington has indicated it wants flexibility", "United States"),
        ("Beijing’s strategic push", "China"),
        ("Chinese President", "China"),
        ("South Korean President", "South Korea"),
        ("relations with Seoul", "South Korea"),
        ("a response from Tokyo", "Japan"),
        ("dialogue with Pyongyang", "North Korea"),
        ("Japanese Prime Minister", "Japan"),
    ],
)
def test_aliases_abbreviations_capitals_and_demonyms(tagger, text, expected):
    assert expected in names(tagger, text)


@pytest.mark.parametrize(
    "text",
    [
        "Let us meet again",
        "Tell us what you think",
        "Us and them",
        "a USB stick",
        "Leeds won the match",
        "the Xiamen ferry",
    ],
)
def test_whole_words_only_and_us_is_not_the_united_states(tagger, text):
    assert names(tagger, text) == set()


@pytest.mark.parametrize("apostrophe", ["’", "'"])
def test_possessives_with_either_apostrophe(tagger, apostrophe):
    assert names(tagger, f"Trump{apostrophe}s Planned Visit") == {"Donald Trump"}
    assert "Japan" in names(tagger, f"Japan{apostrophe}s First Female Prime Minister")


def test_surnames_count_only_after_first_mention(tagger):
    assert "Lee Jae Myung" not in names(tagger, "Lee said he would not take sides.")
    mentions = tagger.mentions(
        "President Lee Jae Myung arrived. Lee said he would not take sides."
    )
    assert [m.text for m in mentions if m.tag.slug == "lee-jae-myung"] == [
        "Lee Jae Myung",
        "Lee",
    ]


def test_xi_after_xi_jinping_counts_as_a_second_mention(tagger):
    mentions = tagger.mentions("Xi Jinping will host. Xi’s invitation was noted.")
    assert [m.text for m in mentions if m.tag.slug == "xi-jinping"] == [
        "Xi Jinping",
        "Xi",
    ]


def test_lower_case_forms_match_any_case_capitalised_forms_only_as_written(tagger):
    assert "Semiconductors" in names(tagger, "Moving 40% of Semiconductor Production")
    assert "Semiconductors" in names(tagger, "its semiconductor exports")
    assert "Trade" in names(tagger, "a TRADE deal")
    assert "Artificial intelligence" in names(tagger, "advances in AI")
    assert "Artificial intelligence" not in names(tagger, "an ai of sorts")


def test_forms_nested_in_longer_forms_name_both_tags(tagger):
    found = names(tagger, "Trump Says Talks Underway on Russia-Ukraine War")
    assert {"War in Ukraine", "Russia", "Ukraine", "Donald Trump"} <= found


def test_dashes_and_white_space_inside_forms_are_flexible(tagger):
    assert "War in Ukraine" in names(tagger, "the Russia–Ukraine war")
    assert "Lee Jae Myung" in names(tagger, "Lee\nJae  Myung")


def test_most_mentioned_tag_comes_first(tagger):
    tags = tagger.tags("Japan said. China said. China and China again.")
    assert [tag.name for tag in tags] == ["China", "Japan"]


def test_every_seed_headline_gets_a_tag(tagger, settings):
    from articles.seeding import read_document
    from tests.conftest import SEED_DOCUMENT

    document = read_document(SEED_DOCUMENT, max_bytes=settings.NEWSROOM_SEED_MAX_BYTES)
    untagged = [h.text for h in document.headlines if not tagger.tags(h.text)]
    assert untagged == []


def test_vocabulary_covers_the_people_and_places_of_the_seed_story(tagger):
    from articles.seeding import read_document
    from tests.conftest import SEED_DOCUMENT

    document = read_document(SEED_DOCUMENT, max_bytes=1_000_000)
    found = names(tagger, "\n".join(document.paragraphs))
    assert {
        "China",
        "South Korea",
        "North Korea",
        "Japan",
        "Taiwan",
        "United States",
        "Xi Jinping",
        "Lee Jae Myung",
        "Sanae Takaichi",
        "Yoon Suk Yeol",
        "Semiconductors",
        "Trade",
    } <= found


def test_vocabulary_has_every_kind(vocabulary):
    assert {tag.kind for tag in vocabulary} == set(TagKind.values)


def test_normalize_forms_trims_drops_blanks_and_repeats():
    assert normalize_forms(" U.S. \n\nUS\nUS\n") == ["U.S.", "US"]
    with pytest.raises(ValueError, match="no letter or digit"):
        normalize_forms(["..."])


@pytest.mark.django_db
def test_a_form_claimed_by_two_tags_is_refused(make_tag):
    make_tag(name="United States", aliases=["US"])
    clash = Tag(name="Union Station", slug="union-station", aliases=["us"])
    with pytest.raises(ValidationError, match="Already used by another tag"):
        clash.full_clean()


def test_an_empty_vocabulary_finds_nothing():
    assert Tagger([]).tags("China and the U.S.") == []
