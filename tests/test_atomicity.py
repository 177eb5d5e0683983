"""
All or nothing: a crash in the middle of a bulk admin action or of a seed
import leaves no partial write.

Crashes are injected where a real one would strike: after the rows of the
first items (and part of the next) are written, through a signal receiver
that raises on the nth save, delete or change of tags. Each bulk action is
run as an editor runs it, by posting the admin's changelist form.
"""

import shutil

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.urls import reverse
from reversion.models import Revision, Version

from articles.models import (
    Article,
    Correction,
    Headline,
    SourceDocument,
    Status,
    Tag,
    Transition,
    Withdrawal,
)
from articles.tagging import suggest_tags
from tests.conftest import SEED_DOCUMENT

WATCHED = [
    Article,
    Headline,
    Article.tags.through,
    Headline.tags.through,
    Tag,
    SourceDocument,
    Transition,
    Withdrawal,
    Correction,
    Revision,
    Version,
    LogEntry,
    get_user_model(),
]


def everything() -> dict[str, list[dict]]:
    """Every row an action or an import may write, column by column."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in WATCHED
    }


class Crash(Exception):
    """What the injected crash raises."""


@pytest.fixture
def crash():
    """
    Arm a signal to raise on its ``on``-th call for ``sender`` (counting only
    calls that ``when`` accepts), as a crash at that point would.
    """
    armed = []

    def arm(signal, sender, *, on, when=None, error=None):
        calls = []

        def receiver(**kwargs):
            if when is not None and not when(**kwargs):
                return
            calls.append(kwargs)
            if len(calls) == on:
                raise error or Crash(f"crash on call {on}")

        signal.connect(receiver, sender=sender, weak=False)
        armed.append((signal, receiver, sender))
        return calls

    yield arm
    for signal, receiver, sender in armed:
        signal.disconnect(receiver, sender=sender)


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def run_action(client, model, action, items, **extra):
    return client.post(
        changelist(model),
        {"action": action, "_selected_action": [item.pk for item in items], **extra},
    )


@pytest.fixture
def make_item(make_article, make_headline):
    def make(model, **fields):
        return (make_article if model is Article else make_headline)(**fields)

    return make


# Publishing and unpublishing in bulk.


@pytest.mark.parametrize("model", [Article, Headline])
def test_crash_midway_through_publishing_leaves_every_selected_item_unpublished(
    admin_client, make_item, crash, model
):
    drafts = [make_item(model, status=Status.DRAFT) for _ in range(4)]
    before = everything()
    # The third item is published, then the record of its move fails.
    calls = crash(post_save, Transition, on=3)

    with pytest.raises(Crash):
        run_action(admin_client, model, "publish_selected", drafts)

    assert len(calls) == 3
    assert everything() == before
    assert not model.objects.published().exists()


@pytest.mark.parametrize("model", [Article, Headline])
def test_crash_midway_through_unpublishing_leaves_every_selected_item_public(
    admin_client, make_item, crash, model
):
    public = [make_item(model) for _ in range(4)]
    before = everything()
    calls = crash(post_save, Transition, on=2)

    with pytest.raises(Crash):
        run_action(admin_client, model, "unpublish_selected", public)

    assert len(calls) == 2
    assert everything() == before
    assert model.objects.published().count() == 4
    assert not Withdrawal.objects.exists()


def test_refused_items_are_still_reported_and_the_others_moved(
    admin_client, make_article
):
    first, draft, last = (
        make_article(),
        make_article(status=Status.DRAFT, headline="Still a draft"),
        make_article(),
    )

    response = admin_client.post(
        changelist(Article),
        {
            "action": "unpublish_selected",
            "_selected_action": [first.pk, draft.pk, last.pk],
        },
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert "Unpublished 2 articles; readers no longer see them." in shown
    assert any(
        m.startswith("“Still a draft”: “Unpublish” is not possible") for m in shown
    )
    assert set(Article.objects.published().values_list("pk", flat=True)) == set()
    assert Transition.objects.count() == 2


# Suggested tags and developing a headline.


def test_crash_midway_through_adding_suggested_tags_adds_none(
    admin_client, vocabulary, make_article, crash
):
    stories = [
        make_article(headline=f"China and Japan hold talks, round {n}", body="Trade.")
        for n in range(3)
    ]
    assert all(suggest_tags(story) for story in stories)
    before = everything()
    calls = crash(
        m2m_changed,
        Article.tags.through,
        on=2,
        when=lambda action, **kwargs: action == "post_add",
    )

    with pytest.raises(Crash):
        run_action(admin_client, Article, "add_suggested_tags", stories)

    assert len(calls) == 2
    assert everything() == before
    assert not Article.tags.through.objects.exists()


def test_crash_while_developing_a_headline_leaves_no_story(
    admin_client, vocabulary, make_headline, crash
):
    headline = make_headline(text="China and Japan hold talks")
    headline.tags.set(Tag.objects.filter(slug__in=["china", "japan"]))
    before = everything()
    # The draft is made and tagged; pointing the headline to it fails.
    calls = crash(post_save, Headline, on=1)

    with pytest.raises(Crash):
        run_action(admin_client, Headline, "develop_into_story", [headline])

    assert len(calls) == 1
    assert everything() == before
    assert not Article.objects.exists()
    headline.refresh_from_db()
    assert headline.article is None


# The admin's own "Delete selected".


def make_deletable(model, make_article, make_headline, make_tag, django_user_model):
    number = iter(range(1, 100))
    if model is Tag:
        return [make_tag() for _ in range(3)]
    if model is Article:
        return [make_article() for _ in range(3)]
    if model is Headline:
        return [make_headline() for _ in range(3)]
    return [
        django_user_model.objects.create_user(f"reporter{next(number)}")
        for _ in range(3)
    ]


@pytest.mark.parametrize("model", [Tag, Article, Headline, get_user_model()])
def test_crash_midway_through_deleting_leaves_every_selected_row_and_no_log(
    admin_client,
    make_article,
    make_headline,
    make_tag,
    django_user_model,
    crash,
    model,
):
    rows = make_deletable(
        model, make_article, make_headline, make_tag, django_user_model
    )
    before = everything()
    calls = crash(post_delete, model, on=2)

    with pytest.raises(Crash):
        run_action(admin_client, model, "delete_selected", rows, post="yes")

    assert len(calls) == 2
    assert everything() == before
    assert not LogEntry.objects.exists()  # no "deleted" entry for what is still there


def test_deleting_in_bulk_still_deletes_and_logs(admin_client, make_tag):
    tags = [make_tag() for _ in range(3)]

    response = run_action(admin_client, Tag, "delete_selected", tags, post="yes")

    assert response.status_code == 302
    assert not Tag.objects.exists()
    assert LogEntry.objects.count() == 3


# Seed imports: each document all or nothing, the others kept.


@pytest.fixture
def three_documents(tmp_path):
    """Three copies of the real document, under different names and leads."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for name in ("a_first", "b_second", "c_third"):
        path = folder / f"{name}.txt"
        shutil.copy(SEED_DOCUMENT, path)
        text = path.read_text(encoding="utf-8")
        path.write_text(f"Report {name}: {text}", encoding="utf-8")
    return folder


def imported_from(name: str) -> dict[str, int]:
    """What an import of document ``name`` left in the database."""
    source = SourceDocument.objects.filter(name=f"{name}.txt").first()
    revisions = Revision.objects.filter(comment=f"Imported from {name}.txt")
    return {
        "documents": int(source is not None),
        "articles": Article.objects.filter(source=source).count() if source else 0,
        "headlines": Headline.objects.filter(source=source).count() if source else 0,
        "revisions": revisions.count(),
        "versions": Version.objects.filter(revision__in=revisions).count(),
    }


WHOLE = {"documents": 1, "articles": 1, "headlines": 17, "revisions": 1, "versions": 18}
NOTHING = {"documents": 0, "articles": 0, "headlines": 0, "revisions": 0, "versions": 0}


def in_second_document(instance, **kwargs) -> bool:
    return instance.source is not None and instance.source.name == "b_second.txt"


@pytest.mark.django_db(transaction=True)
def test_crash_in_the_second_document_keeps_the_first_and_nothing_of_the_second(
    vocabulary, three_documents, crash
):
    # The process dies while writing the ninth headline of the second document.
    calls = crash(post_save, Headline, on=9, when=in_second_document)

    with pytest.raises(Crash):
        call_command("seed", str(three_documents), verbosity=0)

    assert len(calls) == 9
    assert imported_from("a_first") == WHOLE
    assert imported_from("b_second") == NOTHING
    assert imported_from("c_third") == NOTHING  # never reached
    assert Revision.objects.count() == 1
    assert Version.objects.count() == 18


@pytest.mark.django_db(transaction=True)
def test_database_failure_in_one_document_of_three_imports_the_other_two(
    vocabulary, three_documents, crash
):
    calls = crash(
        post_save,
        Headline,
        on=9,
        when=in_second_document,
        error=DatabaseError("disk I/O error"),
    )

    with pytest.raises(CommandError) as failure:
        call_command("seed", str(three_documents), verbosity=0)

    assert len(calls) == 9
    assert str(failure.value) == "Seeded: 2 created, 0 updated, 0 unchanged, 1 failed."
    assert imported_from("a_first") == WHOLE
    assert imported_from("b_second") == NOTHING
    assert imported_from("c_third") == WHOLE
    assert Revision.objects.count() == 2
    assert Version.objects.count() == 36
