"""
The newsroom's roles, as Django groups with permissions.

- Reporter: writes and edits their own drafts and submits them for review;
  cannot publish.
- Editor: edits anyone's stories; publishes, schedules, unpublishes; sends
  stories back; writes corrections.
- Chief editor: all of that, and manages tags, users' roles and deletion.

The groups are brought up to date after every ``migrate`` (post_migrate), so
a new permission reaches its role without a data migration.
"""

from django.contrib.auth.models import Group, Permission

REPORTER = "Reporter"
EDITOR = "Editor"
CHIEF_EDITOR = "Chief editor"

_REPORTER = [
    "articles.view_article",
    "articles.add_article",
    "articles.change_article",
    "articles.view_headline",
    "articles.add_headline",
    "articles.change_headline",
    "articles.view_tag",
    "articles.view_sourcedocument",
    "articles.view_correction",
    "articles.view_transition",
    "reversion.view_version",
    "reversion.view_revision",
]
_EDITOR = [
    *_REPORTER,
    "articles.publish_article",
    "articles.publish_headline",
    "articles.correct_article",
    "articles.add_correction",
]
_CHIEF_EDITOR = [
    *_EDITOR,
    "articles.add_tag",
    "articles.change_tag",
    "articles.delete_tag",
    "articles.delete_article",
    "articles.delete_headline",
    "auth.view_user",
    "auth.change_user",
    "auth.view_group",
    "authtoken.view_tokenproxy",
    "authtoken.add_tokenproxy",
    "authtoken.delete_tokenproxy",
]
ROLES = {REPORTER: _REPORTER, EDITOR: _EDITOR, CHIEF_EDITOR: _CHIEF_EDITOR}


def ensure_roles(**kwargs) -> None:
    """Create the role groups, each with exactly its permissions."""
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:  # an app not migrated yet
                permissions.append(permission)
        group.permissions.set(permissions)
