import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.roles import CHIEF_EDITOR, EDITOR, REPORTER

ROLES = {"reporter": REPORTER, "editor": EDITOR, "chief-editor": CHIEF_EDITOR}


class Command(BaseCommand):
    help = (
        "Create a newsroom user in a role (reporter, editor, chief-editor) for "
        "local use, with a generated password printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        User = get_user_model()
        username, role = options["username"], ROLES[options["role"]]
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user “{username}” exists already.")
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist as error:
            raise CommandError(
                f"The role “{role}” is missing: run `python manage.py migrate`."
            ) from error
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user = User.objects.create_user(
                username, email=options["email"], password=password, is_staff=True
            )
            user.groups.add(group)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {role.lower()} “{username}” with password: {password}\n"
                "It is shown only this once."
            )
        )
