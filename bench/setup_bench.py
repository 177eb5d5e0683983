"""
Run inside the benchmark's environment (bench/run.py calls it): make sure an
editor with an API token exists for the mixed run, count the SQL queries each
target takes at this archive size, and print both as JSON.
"""

import json
import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from articles.roles import EDITOR  # noqa: E402

editor, _ = get_user_model().objects.get_or_create(
    username="bench-editor", defaults={"is_staff": True}
)
editor.groups.add(Group.objects.get(name=EDITOR))
token, _ = Token.objects.get_or_create(user=editor)

client = Client(HTTP_HOST="127.0.0.1")
queries = {}
for path in json.loads(sys.argv[1]):
    client.get(path)  # warm
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    queries[path] = {"status": status, "queries": len(captured)}
sys.stdout.write(json.dumps({"token": token.key, "queries": queries}) + "\n")
