"""
The editorial workflow and its permission matrix, through every route: the
admin change form (its move buttons), the admin's bulk actions and the write
API. Also the headline-to-story shortcut, suggested tags, the dashboard and
the createstaff command.
"""

import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from reversion.models import Version

from articles.models import Article, Correction, Headline, Status, Tag, Transition
from articles.roles import CHIEF_EDITOR, EDITOR, REPORTER
from articles.tagging import suggest_tags
from articles.workflow import perform

PASSWORD = "a-long-newsroom-passphrase-42"


# People in their roles, and their clients.


@pytest.fixture
def make_user(db, django_user_model):
    def make(username, role):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def reporter(make_user):
    return make_user("rita", REPORTER)


@pytest.fixture
def other_reporter(make_user):
    return make_user("oscar", REPORTER)


@pytest.fixture
def editor(make_user):
    return make_user("edna", EDITOR)


@pytest.fixture
def chief(make_user):
    return make_user("carl", CHIEF_EDITOR)


def admin_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user) -> APIClient:
    """An API client sending ``user``'s token, as an editor's app would."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


# Admin forms, posted back as a browser would.


class FormReader(HTMLParser):
    """Collect what a browser submits from the admin's change form."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: list[str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("id") or "").endswith("_form"):
            self._in_form = True
        if not self._in_form or tag not in {"input", "textarea", "select", "option"}:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "image", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.append((self._select, attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # Browsers drop the newline that opens a textarea's content.
            self.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_data(response, *, hidden=("version",)) -> dict[str, list[str]]:
    """
    Return the fields of the page's change form, as a browser posts them,
    plus the form's ``hidden`` fields where the page leaves them out.
    """
    assert response.status_code == 200, response.status_code
    reader = FormReader()
    reader.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    form = response.context["adminform"].form
    for name in hidden:
        if name in form.fields and form[name].value() is not None:
            data.setdefault(name, [str(form[name].value())])
    return data


def local(moment) -> dict[str, str]:
    """Split a time into the admin's date and time inputs."""
    moment = timezone.localtime(moment)
    return {"0": moment.strftime("%Y-%m-%d"), "1": moment.strftime("%H:%M:%S")}


def change_url(item) -> str:
    return reverse(f"admin:articles_{item._meta.model_name}_change", args=[item.pk])


def changelist_url(model) -> str:
    return reverse(f"admin:articles_{model._meta.model_name}_changelist")


def admin_save(client, item, *, move=None, times=None, **changes):
    """Open ``item``'s change form, change fields, save (and move), follow."""
    url = change_url(item)
    data = form_data(client.get(url))
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    for name, moment in (times or {}).items():
        for part, text in local(moment).items():
            data[f"{name}_{part}"] = [text]
    if move:
        data["_move"] = [move]
    return client.post(url, data, follow=True)


def admin_action(client, model, action, items):
    return client.post(
        changelist_url(model),
        {"action": action, "_selected_action": [item.pk for item in items]},
        follow=True,
    )


def shown_messages(response) -> list[str]:
    """What the admin tells the user: its messages, and the form's own errors."""
    shown = [str(message) for message in response.context["messages"]]
    adminform = response.context.get("adminform")
    if adminform is not None:
        shown += [str(error) for error in adminform.form.non_field_errors()]
    return shown


def action_names(client, model) -> set[str]:
    response = client.get(changelist_url(model))
    return {
        name for name, _ in response.context["action_form"].fields["action"].choices
    }


# The write API.


def api_url(item_or_model) -> str:
    """The API's list for a model, or its detail for an item."""
    name = item_or_model._meta.model_name
    if isinstance(item_or_model, type):
        return reverse(f"api:{name}-list")
    return reverse(f"api:{name}-detail", args=[item_or_model.slug])


def api_patch(user, item, **data):
    return api_for(user).patch(api_url(item), data, format="json")


def assert_api_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]


# What readers see, and the record.


def is_public(item) -> bool:
    return type(item).objects.published().filter(pk=item.pk).exists()


def transitions(item):
    return list(
        Transition.objects.filter(
            content_type=ContentType.objects.get_for_model(item), object_id=item.pk
        ).order_by("at", "pk")
    )


def steps(item) -> list[tuple[str, str, str]]:
    return [(t.action, t.from_status, t.to_status) for t in transitions(item)]


def in_an_hour():
    return timezone.now() + timedelta(hours=1)


@pytest.fixture
def draft_by(make_article):
    def make(user, **fields):
        return make_article(status=Status.DRAFT, created_by=user, **fields)

    return make


# Reporters: their own drafts, and submitting them.


def test_reporter_creates_a_draft_in_the_admin_and_it_is_theirs(reporter):
    client = admin_for(reporter)
    add = client.get(reverse("admin:articles_article_add"))
    buttons = re.findall(r'name="_move" value="(\w+)"', add.content.decode())
    assert buttons == ["submit"]

    data = form_data(add)
    data.update(
        headline=["Ferry timetable changes"],
        slug=["ferry-timetable"],
        body=["The winter timetable starts on Monday."],
    )
    response = client.post(reverse("admin:articles_article_add"), data)

    assert response.status_code == 302
    story = Article.objects.get(slug="ferry-timetable")
    assert story.status == Status.DRAFT
    assert story.created_by == reporter
    assert not is_public(story)


def test_reporter_creates_a_draft_through_the_api_and_it_is_theirs(reporter):
    response = api_for(reporter).post(
        api_url(Article),
        {"headline": "Ferry timetable changes", "body": "From Monday."},
        format="json",
    )

    assert response.status_code == 201, response.content
    story = Article.objects.get(slug=response.json()["slug"])
    assert story.status == Status.DRAFT
    assert story.created_by == reporter


def test_reporter_edits_own_draft_in_the_admin(reporter, draft_by):
    story = draft_by(reporter, body="First take.")

    response = admin_save(admin_for(reporter), story, body="Second take.")

    assert response.status_code == 200
    story.refresh_from_db()
    assert story.body == "Second take."
    assert story.status == Status.DRAFT


def test_reporter_edits_own_draft_through_the_api(reporter, draft_by):
    story = draft_by(reporter, body="First take.")

    response = api_patch(reporter, story, body="Second take.")

    assert response.status_code == 200, response.content
    story.refresh_from_db()
    assert story.body == "Second take."


def test_reporter_submits_own_draft_with_the_admin_button(reporter, draft_by):
    story = draft_by(reporter)
    before = timezone.now()

    response = admin_save(admin_for(reporter), story, move="submit")

    story.refresh_from_db()
    assert story.status == Status.REVIEW
    assert "Submitted for review: now in review." in shown_messages(response)
    [step] = transitions(story)
    assert (step.action, step.from_status, step.to_status) == (
        "submit",
        Status.DRAFT,
        Status.REVIEW,
    )
    assert step.user == reporter
    assert before <= step.at <= timezone.now()


def test_reporter_submits_own_draft_through_the_api(reporter, draft_by):
    story = draft_by(reporter)

    response = api_patch(reporter, story, status=Status.REVIEW)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.REVIEW
    assert steps(story) == [("submit", Status.DRAFT, Status.REVIEW)]
    assert transitions(story)[0].user == reporter


def test_reporter_may_create_and_submit_in_one_admin_save(reporter):
    client = admin_for(reporter)
    data = form_data(client.get(reverse("admin:articles_article_add")))
    data.update(
        headline=["Bridge closes for repairs"],
        slug=["bridge-closes"],
        body=["Two weeks of work."],
        _move=["submit"],
    )

    client.post(reverse("admin:articles_article_add"), data)

    story = Article.objects.get(slug="bridge-closes")
    assert story.status == Status.REVIEW
    assert steps(story) == [("submit", Status.DRAFT, Status.REVIEW)]


def test_reporter_sees_someone_elses_draft_read_only_and_cannot_save_it(
    reporter, other_reporter, draft_by
):
    story = draft_by(other_reporter, body="Oscar's words.")
    client = admin_for(reporter)

    page = client.get(change_url(story))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="body"' not in page.content.decode()
    assert 'name="_move"' not in page.content.decode()
    response = client.post(
        change_url(story),
        {"headline": story.headline, "body": "Rita's words.", "_move": "submit"},
    )
    assert response.status_code == 403
    story.refresh_from_db()
    assert (story.body, story.status) == ("Oscar's words.", Status.DRAFT)
    assert transitions(story) == []


def test_reporter_cannot_edit_or_submit_someone_elses_draft_through_the_api(
    reporter, other_reporter, draft_by
):
    story = draft_by(other_reporter, body="Oscar's words.")

    edit = api_patch(reporter, story, body="Rita's words.")
    submit = api_patch(reporter, story, status=Status.REVIEW)

    assert_api_error(edit, 403)
    assert_api_error(submit, 403)
    story.refresh_from_db()
    assert (story.body, story.status) == ("Oscar's words.", Status.DRAFT)


def test_reporter_cannot_edit_own_story_once_submitted(reporter, draft_by):
    story = draft_by(reporter, body="As submitted.")
    admin_save(admin_for(reporter), story, move="submit")
    client = admin_for(reporter)

    page = client.get(change_url(story))
    posted = client.post(change_url(story), {"body": "Sneaky fix."})
    through_api = api_patch(reporter, story, body="Sneaky fix.")

    assert page.context["has_change_permission"] is False
    assert posted.status_code == 403
    assert_api_error(through_api, 403)
    story.refresh_from_db()
    assert (story.body, story.status) == ("As submitted.", Status.REVIEW)


# Reporters cannot publish, schedule, unpublish or set publication fields: by
# any route.


def reporter_publishes(route, reporter, item):
    """Try to make ``item`` public as the reporter, by one route."""
    model = type(item)
    if route == "admin button":
        return admin_save(admin_for(reporter), item, move="publish")
    if route == "admin button, scheduled":
        return admin_save(
            admin_for(reporter),
            item,
            move="publish",
            times={"published_at": in_an_hour()},
            featured="on",
        )
    if route == "admin action":
        return admin_action(admin_for(reporter), model, "publish_selected", [item])
    if route == "api status":
        return api_patch(reporter, item, status=Status.PUBLISHED)
    if route == "api status and time":
        return api_patch(
            reporter,
            item,
            status=Status.PUBLISHED,
            published_at=in_an_hour().isoformat(),
        )
    raise AssertionError(route)


ROUTES = [
    "admin button",
    "admin button, scheduled",
    "admin action",
    "api status",
    "api status and time",
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("status", [Status.DRAFT, Status.REVIEW])
def test_reporter_cannot_publish_or_schedule_own_story_by_any_route(
    route, status, reporter, make_article
):
    story = make_article(status=status, created_by=reporter)

    reporter_publishes(route, reporter, story)

    story.refresh_from_db()
    assert story.status == status
    assert story.published_at is None
    assert story.featured is False
    assert not is_public(story)
    assert steps(story) == []


@pytest.mark.parametrize("route", ROUTES)
def test_reporter_cannot_publish_own_headline_by_any_route(
    route, reporter, make_headline
):
    headline = make_headline(status=Status.DRAFT, created_by=reporter)

    reporter_publishes(route, reporter, headline)

    headline.refresh_from_db()
    assert headline.status == Status.DRAFT
    assert headline.published_at is None
    assert not is_public(headline)
    assert steps(headline) == []


def test_reporter_cannot_create_a_published_story_through_the_api(reporter):
    response = api_for(reporter).post(
        api_url(Article),
        {"headline": "Straight to print", "body": "No.", "status": "published"},
        format="json",
    )

    error = assert_api_error(response, 403)
    assert "editor" in error["message"]
    assert not Article.objects.filter(headline="Straight to print").exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("published_at", "2020-01-01T00:00:00Z"),
        ("published_at", "2099-01-01T00:00:00Z"),
        ("embargo_until", "2099-01-01T00:00:00Z"),
        ("featured", True),
    ],
)
def test_reporter_cannot_set_publication_fields_through_the_api(
    field, value, reporter, draft_by
):
    story = draft_by(reporter)

    created = api_for(reporter).post(
        api_url(Article),
        {"headline": "Mine", "body": "Text.", field: value},
        format="json",
    )
    changed = api_patch(reporter, story, **{field: value})

    assert (
        f"Only an editor may set {field}" in assert_api_error(created, 403)["message"]
    )
    assert_api_error(changed, 403)
    assert not Article.objects.filter(headline="Mine").exists()
    story.refresh_from_db()
    assert (story.published_at, story.embargo_until, story.featured) == (
        None,
        None,
        False,
    )


def test_reporter_cannot_set_publication_fields_in_the_admin(reporter, draft_by):
    story = draft_by(reporter)
    client = admin_for(reporter)

    page = client.get(change_url(story))
    response = admin_save(
        client,
        story,
        times={"published_at": in_an_hour(), "embargo_until": in_an_hour()},
        featured="on",
        body="Still a draft.",
    )

    assert {"published_at", "embargo_until", "featured"} <= set(
        page.context["adminform"].readonly_fields
    )
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.body == "Still a draft."  # the rest of the save went through
    assert (story.published_at, story.embargo_until, story.featured) == (
        None,
        None,
        False,
    )


def test_reporter_cannot_set_publication_fields_when_adding_in_the_admin(reporter):
    client = admin_for(reporter)
    data = form_data(client.get(reverse("admin:articles_article_add")))
    data.update(
        headline=["Fast track"],
        slug=["fast-track"],
        body=["Text."],
        featured=["on"],
        **{f"published_at_{k}": [v] for k, v in local(timezone.now()).items()},
    )

    client.post(reverse("admin:articles_article_add"), data)

    story = Article.objects.get(slug="fast-track")
    assert (story.status, story.published_at, story.featured) == (
        Status.DRAFT,
        None,
        False,
    )


def test_reporter_is_offered_no_publishing_actions(reporter):
    client = admin_for(reporter)

    assert {"publish_selected", "unpublish_selected"}.isdisjoint(
        action_names(client, Article)
    )
    assert {"publish_selected", "unpublish_selected"}.isdisjoint(
        action_names(client, Headline)
    )


def restore(client, item, version):
    """Restore an old revision in the admin: open it, then save it."""
    url = reverse(
        f"admin:articles_{item._meta.model_name}_revision", args=[item.pk, version.pk]
    )
    page = client.get(url)
    if page.status_code != 200:
        return page
    return client.post(url, form_data(page), follow=True)


@pytest.mark.parametrize(
    "route",
    [
        "admin button",
        "admin action",
        "api status",
        pytest.param(
            "restore revision",
        ),
    ],
)
def test_reporter_cannot_unpublish_own_published_story_by_any_route(
    route, reporter, editor, draft_by
):
    story = draft_by(reporter)  # its first revision: a draft, theirs
    perform(story, "publish", user=editor)
    if route == "admin button":
        response = admin_save(admin_for(reporter), story, move="unpublish")
        assert response.status_code == 403
    elif route == "admin action":
        admin_action(admin_for(reporter), Article, "unpublish_selected", [story])
    elif route == "api status":
        assert_api_error(api_patch(reporter, story, status=Status.UNPUBLISHED), 403)
    else:
        draft_revision = Version.objects.get_for_object(story).get()
        restore(admin_for(reporter), story, draft_revision)

    story.refresh_from_db()
    assert story.status == Status.PUBLISHED
    assert is_public(story)
    assert steps(story) == [("publish", Status.DRAFT, Status.PUBLISHED)]


def test_reporter_cannot_return_or_reopen(reporter, make_article):
    in_review = make_article(status=Status.REVIEW, created_by=reporter)
    withdrawn = make_article(
        status=Status.UNPUBLISHED, created_by=reporter, published_at=timezone.now()
    )

    back = api_patch(reporter, in_review, status=Status.DRAFT)
    reopened = api_patch(reporter, withdrawn, status=Status.DRAFT)

    assert_api_error(back, 403)
    assert_api_error(reopened, 403)
    assert steps(in_review) == steps(withdrawn) == []


# Editors: every move, by every route that offers it.


def editor_moves(route, editor, item, move, **admin_changes):
    if route == "admin button":
        response = admin_save(admin_for(editor), item, move=move, **admin_changes)
        assert response.status_code == 200
        return response
    if route == "admin action":
        response = admin_action(
            admin_for(editor), type(item), f"{move}_selected", [item]
        )
        assert response.status_code == 200
        return response
    if route == "api":
        target = {
            "submit": Status.REVIEW,
            "return": Status.DRAFT,
            "publish": Status.PUBLISHED,
            "unpublish": Status.UNPUBLISHED,
            "reopen": Status.DRAFT,
        }[move]
        response = api_patch(editor, item, status=target)
        assert response.status_code == 200, response.content
        return response
    raise AssertionError(route)


@pytest.mark.parametrize("route", ["admin button", "api"])
def test_editor_sends_a_story_back_to_draft(route, editor, reporter, make_article):
    story = make_article(status=Status.REVIEW, created_by=reporter)

    editor_moves(route, editor, story, "return")

    story.refresh_from_db()
    assert story.status == Status.DRAFT
    assert steps(story) == [("return", Status.REVIEW, Status.DRAFT)]
    assert transitions(story)[0].user == editor
    # Back in the reporter's hands.
    assert api_patch(reporter, story, body="Fixed.").status_code == 200


@pytest.mark.parametrize("route", ["admin button", "admin action", "api"])
@pytest.mark.parametrize("model", ["article", "headline"])
def test_editor_publishes_a_story_in_review(
    route, model, editor, reporter, make_article, make_headline
):
    make = make_article if model == "article" else make_headline
    item = make(status=Status.REVIEW, created_by=reporter)
    before = timezone.now()

    editor_moves(route, editor, item, "publish")

    item.refresh_from_db()
    assert item.status == Status.PUBLISHED
    assert before <= item.published_at <= timezone.now()
    assert is_public(item)
    assert steps(item) == [("publish", Status.REVIEW, Status.PUBLISHED)]
    assert transitions(item)[0].user == editor


def test_editor_publishing_shows_what_happened(editor, make_article):
    story = make_article(status=Status.REVIEW)

    response = editor_moves("admin button", editor, story, "publish")

    assert "Published: now published." in shown_messages(response)


@pytest.mark.parametrize("route", ["admin button", "api"])
def test_editor_schedules_a_story_that_is_public_only_from_its_time(
    route, editor, client, make_article
):
    story = make_article(status=Status.REVIEW, slug="budget-vote")
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    if route == "admin button":
        editor_moves(route, editor, story, "publish", times={"published_at": when})
    else:
        response = api_patch(
            editor, story, status=Status.PUBLISHED, published_at=when.isoformat()
        )
        assert response.status_code == 200, response.content

    story.refresh_from_db()
    assert (story.status, story.published_at) == (Status.PUBLISHED, when)
    assert story.is_scheduled
    assert not is_public(story)
    assert client.get(story.get_absolute_url()).status_code == 404
    assert APIClient().get(api_url(story)).status_code == 404
    [step] = transitions(story)
    assert (step.action, step.to_status, step.published_at) == (
        "publish",
        Status.PUBLISHED,
        when,
    )
    assert step.note.startswith("Scheduled for")

    # Its time comes: no job runs, and yet it is public.
    Article.objects.filter(pk=story.pk).update(
        published_at=timezone.now() - timedelta(minutes=1)
    )
    cache.clear()
    assert is_public(story)
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200
    assert story.headline in page.content.decode()
    assert APIClient().get(api_url(story)).status_code == 200


def test_publishing_a_scheduled_story_in_bulk_keeps_its_time(editor, make_article):
    when = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    story = make_article(status=Status.REVIEW, published_at=when)

    response = editor_moves("admin action", editor, story, "publish")

    story.refresh_from_db()
    assert story.published_at == when
    assert story.is_scheduled
    assert any("go live at their scheduled time" in m for m in shown_messages(response))


@pytest.mark.parametrize("route", ["admin button", "admin action", "api"])
def test_editor_unpublishes_a_story(route, editor, client, make_article):
    # Whole seconds: the admin's time inputs have no finer grain.
    story = make_article(
        published_at=(timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    )
    published_at = story.published_at

    editor_moves(route, editor, story, "unpublish")

    story.refresh_from_db()
    assert story.status == Status.UNPUBLISHED
    assert story.published_at == published_at  # kept for a republication
    assert not is_public(story)
    assert client.get(story.get_absolute_url()).status_code == 404
    assert steps(story) == [("unpublish", Status.PUBLISHED, Status.UNPUBLISHED)]
    assert transitions(story)[0].user == editor


@pytest.mark.parametrize("route", ["admin button", "api"])
def test_editor_reopens_an_unpublished_story_as_a_draft(route, editor, make_article):
    story = make_article(status=Status.UNPUBLISHED, published_at=timezone.now())

    editor_moves(route, editor, story, "reopen")

    story.refresh_from_db()
    assert story.status == Status.DRAFT
    assert steps(story) == [("reopen", Status.UNPUBLISHED, Status.DRAFT)]


@pytest.mark.parametrize("route", ["admin button", "admin action", "api"])
def test_editor_republishes_an_unpublished_story(route, editor, make_article):
    story = make_article(status=Status.UNPUBLISHED, published_at=timezone.now())

    editor_moves(route, editor, story, "publish")

    story.refresh_from_db()
    assert is_public(story)
    assert steps(story) == [("publish", Status.UNPUBLISHED, Status.PUBLISHED)]


def test_editor_edits_anyones_story_and_sets_publication_fields(
    editor, reporter, make_article
):
    story = make_article(status=Status.REVIEW, created_by=reporter)
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0)

    admin_save(admin_for(editor), story, body="Edited.", featured="on")
    response = api_patch(editor, story, embargo_until=when.isoformat())

    assert response.status_code == 200, response.content
    story.refresh_from_db()
    assert (story.body, story.featured, story.embargo_until) == ("Edited.", True, when)
    assert story.status == Status.REVIEW


def test_editor_sees_the_moves_the_story_allows_as_buttons(editor, make_article):
    client = admin_for(editor)

    def buttons(item):
        page = client.get(change_url(item)).content.decode()
        return re.findall(r'name="_move" value="(\w+)"', page)

    assert buttons(make_article(status=Status.DRAFT)) == ["submit", "publish"]
    assert buttons(make_article(status=Status.REVIEW)) == ["return", "publish"]
    assert buttons(make_article()) == ["unpublish"]
    unpublished = make_article(status=Status.UNPUBLISHED, published_at=timezone.now())
    assert buttons(unpublished) == ["publish", "reopen"]


# Every move recorded; a move not allowed is explained and changes nothing.


def test_every_move_is_recorded_with_who_from_to_and_when(editor, reporter, draft_by):
    story = draft_by(reporter)
    started = timezone.now()

    admin_save(admin_for(reporter), story, move="submit")
    editor_moves("admin button", editor, story, "return")
    api_patch(reporter, story, status=Status.REVIEW)
    editor_moves("api", editor, story, "publish")
    editor_moves("admin action", editor, story, "unpublish")
    editor_moves("admin button", editor, story, "reopen")

    record = transitions(story)
    assert [(t.action, t.from_status, t.to_status, t.user) for t in record] == [
        ("submit", Status.DRAFT, Status.REVIEW, reporter),
        ("return", Status.REVIEW, Status.DRAFT, editor),
        ("submit", Status.DRAFT, Status.REVIEW, reporter),
        ("publish", Status.REVIEW, Status.PUBLISHED, editor),
        ("unpublish", Status.PUBLISHED, Status.UNPUBLISHED, editor),
        ("reopen", Status.UNPUBLISHED, Status.DRAFT, editor),
    ]
    times = [t.at for t in record]
    assert times == sorted(times)
    assert started <= times[0] and times[-1] <= timezone.now()
    assert record[3].published_at is not None


def test_a_move_the_status_does_not_allow_is_refused_in_the_admin(editor, make_article):
    story = make_article(status=Status.DRAFT)

    response = admin_save(admin_for(editor), story, move="reopen")

    story.refresh_from_db()
    assert story.status == Status.DRAFT
    assert steps(story) == []
    assert (
        "“Reopen as draft” is not possible for an item that is draft; "
        "only from: unpublished."
    ) in shown_messages(response)
    assert not any(m.startswith("Reopened") for m in shown_messages(response))


def test_a_refused_move_in_the_change_form_saves_nothing(
    editor, make_user, make_article
):
    story = make_article(
        status=Status.UNPUBLISHED,
        published_at=(timezone.now() - timedelta(hours=1)).replace(microsecond=0),
        body="Withdrawn text.",
    )
    client = admin_for(editor)
    data = form_data(client.get(change_url(story)))
    perform(story, "publish", user=make_user("frank", EDITOR))  # meanwhile

    data.update(body=["Rough notes, not for readers."], _move=["reopen"])
    response = client.post(change_url(story), data, follow=True)

    messages = shown_messages(response)
    assert any("“Reopen as draft” is not possible" in m for m in messages)
    story.refresh_from_db()
    assert story.status == Status.PUBLISHED
    assert story.body == "Withdrawn text."
    assert not any("changed successfully" in m for m in messages)


def test_saving_a_form_opened_before_the_story_was_published_is_handled(
    editor, make_user, make_article
):
    story = make_article(status=Status.REVIEW, body="Reviewed text.")
    client = admin_for(editor)
    data = form_data(client.get(change_url(story)))
    perform(story, "publish", user=make_user("frank", EDITOR))  # meanwhile
    story.refresh_from_db()
    published_at = story.published_at

    data["body"] = ["Reviewed text, with a late fix."]
    response = client.post(change_url(story), data, follow=True)

    assert response.status_code == 200
    story.refresh_from_db()
    assert (story.status, story.published_at) == (Status.PUBLISHED, published_at)
    assert is_public(story)


def test_a_reporters_publish_button_is_refused_with_a_message(reporter, draft_by):
    story = draft_by(reporter)

    response = admin_save(admin_for(reporter), story, move="publish")

    assert "Only an editor may “publish”." in shown_messages(response)
    story.refresh_from_db()
    assert story.status == Status.DRAFT


def test_an_unknown_move_is_refused_with_a_message(editor, make_article):
    story = make_article(status=Status.REVIEW)

    response = admin_save(admin_for(editor), story, move="archive")

    assert "There is no “archive” step in the workflow." in shown_messages(response)
    story.refresh_from_db()
    assert story.status == Status.REVIEW


def test_a_bulk_move_names_each_story_it_refused(editor, make_article):
    draft = make_article(status=Status.DRAFT, headline="Still a draft")
    live = make_article(headline="Already live")

    response = editor_moves("admin action", editor, draft, "unpublish")
    admin_action(admin_for(editor), Article, "unpublish_selected", [live])

    assert any(
        m.startswith("“Still a draft”: “Unpublish” is not possible")
        for m in shown_messages(response)
    )
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert steps(draft) == []
    assert steps(live) == [("unpublish", Status.PUBLISHED, Status.UNPUBLISHED)]


def test_a_move_the_status_does_not_allow_is_refused_in_the_api(editor, make_article):
    story = make_article(status=Status.DRAFT, body="Unchanged.")
    version = story.version

    response = api_patch(editor, story, status=Status.UNPUBLISHED, body="Changed.")

    error = assert_api_error(response, 400)
    assert error["fields"]["status"] == [
        "No step of the workflow goes from draft to unpublished."
    ]
    story.refresh_from_db()
    assert (story.status, story.body, story.version) == (
        Status.DRAFT,
        "Unchanged.",
        version,
    )
    assert steps(story) == []


def test_a_refused_api_move_saves_none_of_the_other_changes(reporter, draft_by):
    story = draft_by(reporter, body="Original words.")

    response = api_patch(reporter, story, status=Status.PUBLISHED, body="Rewritten.")

    assert "Only an editor may “publish”." in assert_api_error(response, 403)["message"]
    story.refresh_from_db()
    assert (story.status, story.body) == (Status.DRAFT, "Original words.")
    assert steps(story) == []


# Chief editors: deletion and tags.


def test_chief_editor_deletes_a_story_and_an_editor_cannot(chief, editor, make_article):
    story = make_article(status=Status.DRAFT)
    delete_url = reverse("admin:articles_article_delete", args=[story.pk])

    refused = admin_for(editor).post(delete_url, {"post": "yes"})
    assert refused.status_code == 403
    assert Article.objects.filter(pk=story.pk).exists()

    done = admin_for(chief).post(delete_url, {"post": "yes"})
    assert done.status_code == 302
    assert not Article.objects.filter(pk=story.pk).exists()


def test_only_a_chief_editor_deletes_in_bulk(chief, editor, reporter, make_article):
    assert "delete_selected" not in action_names(admin_for(reporter), Article)
    assert "delete_selected" not in action_names(admin_for(editor), Article)
    assert "delete_selected" in action_names(admin_for(chief), Article)


@pytest.mark.parametrize("role", ["reporter", "editor"])
def test_only_a_chief_editor_manages_tags(role, request, chief, make_tag):
    tag = make_tag(name="Harbours", slug="harbours")
    add_url = reverse("admin:articles_tag_add")
    change = reverse("admin:articles_tag_change", args=[tag.pk])
    data = {"name": "Ferries", "slug": "ferries", "kind": "topic"}

    other = admin_for(request.getfixturevalue(role))
    assert other.post(add_url, data).status_code == 403
    assert other.post(change, {**data, "slug": "harbours"}).status_code == 403
    assert not Tag.objects.filter(slug="ferries").exists()

    boss = admin_for(chief)
    assert boss.post(add_url, data).status_code == 302
    renamed = {"name": "Ports", "slug": "harbours", "kind": "place"}
    assert boss.post(change, renamed).status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.kind) == ("Ports", "place")
    assert Tag.objects.filter(slug="ferries").exists()


# Embargo: publishing early schedules for the embargo's end.


@pytest.mark.parametrize("route", ["admin button", "admin action", "api"])
def test_publishing_before_the_embargo_schedules_for_the_embargo(
    route, editor, client, make_article
):
    embargo = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    story = make_article(status=Status.REVIEW, embargo_until=embargo)

    response = editor_moves(route, editor, story, "publish")

    story.refresh_from_db()
    assert (story.status, story.published_at) == (Status.PUBLISHED, embargo)
    assert not is_public(story)
    assert client.get(story.get_absolute_url()).status_code == 404
    assert APIClient().get(api_url(story)).status_code == 404
    [step] = transitions(story)
    assert step.note.endswith("when the embargo ends.")
    if route == "admin button":
        assert any("(embargo)" in m for m in shown_messages(response))

    passed = timezone.now() - timedelta(minutes=1)
    Article.objects.filter(pk=story.pk).update(
        embargo_until=passed, published_at=passed
    )
    cache.clear()
    assert is_public(story)
    assert client.get(story.get_absolute_url()).status_code == 200


def test_an_editor_cannot_publish_at_a_time_before_the_embargo(editor, make_article):
    embargo = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    story = make_article(status=Status.REVIEW, embargo_until=embargo)

    admin_save(
        admin_for(editor),
        story,
        move="publish",
        times={"published_at": timezone.now() - timedelta(hours=1)},
    )
    api_response = api_patch(
        editor,
        make_article(status=Status.REVIEW, embargo_until=embargo),
        status=Status.PUBLISHED,
        published_at=timezone.now().isoformat(),
    )

    story.refresh_from_db()
    assert story.published_at == embargo
    assert not is_public(story)
    assert api_response.status_code == 200, api_response.content
    assert api_response.json()["published_at"] is not None
    assert not Article.objects.published().exists()


# Develop a headline into a story.


def test_developing_a_headline_starts_a_linked_draft_and_opens_it(
    editor, make_headline, make_tag
):
    topic = make_tag(name="Ferries", slug="ferries")
    headline = make_headline(text="Ferry strike called off", tags=[topic])

    response = admin_action(
        admin_for(editor), Headline, "develop_into_story", [headline]
    )

    story = Article.objects.get()
    assert response.redirect_chain[-1] == (change_url(story), 302)
    assert story.headline == "Ferry strike called off"
    assert story.status == Status.DRAFT
    assert story.created_by == editor
    assert list(story.tags.all()) == [topic]
    headline.refresh_from_db()
    assert headline.article == story
    assert any("Started a draft" in m for m in shown_messages(response))


def test_a_reporter_develops_a_headline_into_a_draft_of_their_own(
    reporter, make_headline
):
    headline = make_headline(text="Council approves the tram line")

    admin_action(admin_for(reporter), Headline, "develop_into_story", [headline])

    story = Article.objects.get()
    assert (story.status, story.created_by) == (Status.DRAFT, reporter)
    assert api_patch(reporter, story, body="The vote was 31 to 12.").status_code == 200


def test_developing_takes_one_headline_without_a_story(editor, make_headline):
    first, second = make_headline(), make_headline()
    client = admin_for(editor)

    two = admin_action(client, Headline, "develop_into_story", [first, second])
    admin_action(client, Headline, "develop_into_story", [first])
    again = admin_action(client, Headline, "develop_into_story", [first])

    assert "Choose exactly one headline to develop." in shown_messages(two)
    assert any("already has its story" in m for m in shown_messages(again))
    assert Article.objects.count() == 1


# Suggested tags.


STORY_ABOUT_CHIPS = (
    "Japan and South Korea agreed on Tuesday to share supplies of "
    "semiconductors, officials in Seoul said."
)


def test_change_form_suggests_tags_from_the_text(editor, vocabulary, make_article):
    story = make_article(
        headline="Chip pact",
        body=STORY_ABOUT_CHIPS,
        tags=[vocabulary.get(name="Japan")],
    )

    page = admin_for(editor).get(change_url(story)).content.decode()

    cell = re.search(
        r'field-suggested_tags.*?<div class="readonly">(.*?)</div>', page, re.S
    )
    assert cell, "no suggested tags on the form"
    suggested = cell.group(1)
    assert "South Korea" in suggested
    assert "Semiconductors" in suggested
    assert "Japan" not in suggested  # already set


def test_bulk_action_adds_the_suggested_tags(editor, vocabulary, make_article):
    story = make_article(headline="Chip pact", body=STORY_ABOUT_CHIPS)
    expected = set(suggest_tags(story))
    assert {"Japan", "South Korea", "Semiconductors"} <= {t.name for t in expected}

    response = admin_action(admin_for(editor), Article, "add_suggested_tags", [story])

    assert set(story.tags.all()) == expected
    assert f"Added {len(expected)} suggested tags." in shown_messages(response)


def test_bulk_tagging_skips_stories_a_reporter_may_not_edit(
    reporter, other_reporter, vocabulary, draft_by
):
    mine = draft_by(reporter, body=STORY_ABOUT_CHIPS)
    theirs = draft_by(other_reporter, body=STORY_ABOUT_CHIPS)

    admin_action(admin_for(reporter), Article, "add_suggested_tags", [mine, theirs])

    assert mine.tags.exists()
    assert not theirs.tags.exists()


# The editors' dashboard.


def dashboard_section(page: str, title: str) -> str:
    match = re.search(rf"<h3>{title}</h3>(.*?)</section>", page, re.S)
    assert match, f"no “{title}” on the dashboard"
    return match.group(1)


def test_dashboard_shows_statuses_review_queue_schedule_and_corrections(
    editor, reporter, make_article
):
    now = timezone.now()
    for _ in range(3):
        make_article(status=Status.DRAFT)
    waiting = make_article(
        status=Status.REVIEW, headline="Tram line vote next week", created_by=reporter
    )
    soon = make_article(headline="Budget speech", published_at=now + timedelta(days=2))
    later = make_article(
        headline="Election night", published_at=now + timedelta(days=9)
    )
    corrected = make_article(headline="Harbour reopens")
    Correction.objects.create(
        article=corrected, text="The harbour reopened on Monday, not Sunday."
    )

    response = admin_for(editor).get(reverse("admin:index"))

    page = response.content.decode()
    statuses = dashboard_section(page, "Stories by status")
    counts = dict(re.findall(r">([\w ]+)</a>: (\d+)</li>", statuses))
    assert counts == {
        "Draft": "3",
        "In review": "1",
        "Published": "3",
        "Unpublished": "0",
    }
    queue = dashboard_section(page, "Waiting for review")
    assert waiting.headline in queue
    assert change_url(waiting) in queue
    assert "rita" in queue
    schedule = dashboard_section(page, "Scheduled, next 7 days")
    assert soon.headline in schedule
    assert later.headline not in schedule
    assert corrected.headline not in schedule
    corrections = dashboard_section(page, "Latest corrections")
    assert "Harbour reopens" in corrections
    assert "not Sunday" in corrections


def test_dashboard_says_when_nothing_waits(editor, db):
    page = admin_for(editor).get(reverse("admin:index")).content.decode()

    assert "Nothing waits for review." in page
    assert "Nothing is scheduled." in page
    assert "No corrections yet." in page


# createstaff.


def test_createstaff_makes_a_reporter_whose_printed_password_works(db, client):
    out = io.StringIO()

    call_command("createstaff", "alice", role="reporter", stdout=out)

    user = get_user_model().objects.get(username="alice")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [REPORTER]
    password = re.search(r"with password: (\S+)", out.getvalue()).group(1)
    signed_in = client.post(
        reverse("admin:login"), {"username": "alice", "password": password}
    )
    assert signed_in.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert user.has_perm("articles.add_article")
    assert not user.has_perm("articles.publish_article")


def test_createstaff_refuses_a_name_that_is_taken(db):
    call_command("createstaff", "alice", role="editor", stdout=io.StringIO())

    with pytest.raises(CommandError, match="alice"):
        call_command("createstaff", "alice", role="reporter", stdout=io.StringIO())

    user = get_user_model().objects.get(username="alice")
    assert list(user.groups.values_list("name", flat=True)) == [EDITOR]


def test_a_chief_editor_manages_roles_but_cannot_make_anyone_superuser(
    client, django_user_model
):
    User = django_user_model
    chief = User.objects.create_user("chief", password="pw-for-chief-42", is_staff=True)
    chief.groups.add(Group.objects.get(name="Chief editor"))
    reporter = User.objects.create_user("rep", is_staff=True)
    client.force_login(chief)
    url = reverse("admin:auth_user_change", args=[chief.pk])
    form = client.get(url).context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert "groups" in form.fields
    editors = Group.objects.get(name="Editor")
    response = client.post(
        reverse("admin:auth_user_change", args=[reporter.pk]),
        {
            "username": "rep",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [editors.pk],
        },
    )
    assert response.status_code == 302
    reporter.refresh_from_db()
    assert not reporter.is_superuser
    assert list(reporter.groups.all()) == [editors]
