"""Management commands other than seed."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.mark.django_db
def test_createlocaladmin_prints_a_generated_password_once():
    out = StringIO()
    call_command("createlocaladmin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff
    assert user.check_password(password)
    assert len(password) >= 16

    again = StringIO()
    call_command("createlocaladmin", stdout=again)
    assert "already exists" in again.getvalue()
    assert password not in again.getvalue()
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.django_db
def test_each_local_admin_gets_its_own_password():
    first, second = StringIO(), StringIO()
    call_command("createlocaladmin", "--username", "one", stdout=first)
    call_command("createlocaladmin", "--username", "two", stdout=second)
    assert (
        first.getvalue().split("password: ")[1]
        != second.getvalue().split("password: ")[1]
    )


@pytest.mark.django_db
def test_loading_the_vocabulary_twice_changes_nothing():
    from articles.models import Tag

    call_command("loaddata", "tags", verbosity=0)
    first = dict(Tag.objects.values_list("slug", "pk"))
    call_command("loaddata", "tags", verbosity=0)
    assert dict(Tag.objects.values_list("slug", "pk")) == first
    assert len(first) >= 40


@pytest.mark.django_db
def test_loadvocabulary_adds_missing_tags_and_keeps_editors_changes():
    from articles.models import Tag

    out = StringIO()
    call_command("loadvocabulary", stdout=out)
    total = Tag.objects.count()
    assert f"{total} tags added" in out.getvalue()
    china = Tag.objects.get(slug="china")
    china.description = "An editor's own description."
    china.aliases = [*china.aliases, "Middle Kingdom"]
    china.save()
    Tag.objects.filter(slug="japan").delete()

    again = StringIO()
    call_command("loadvocabulary", stdout=again)
    assert f"1 tags added, {total - 1} already there" in again.getvalue()
    china.refresh_from_db()
    assert china.description == "An editor's own description."
    assert "Middle Kingdom" in china.aliases
    assert Tag.objects.filter(slug="japan").exists()
