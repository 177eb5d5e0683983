import re
from html.parser import HTMLParser
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from reversion.models import Version
from articles.models import Article, Status
from articles.workflow import perform


class FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.data = []
        self.in_form = False
        self.textarea = None
        self.select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("id") or "").endswith("_form"):
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name"):
            t = a.get("type", "text")
            if t in ("submit", "button", "image", "file"):
                return
            if t in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.append((a["name"], a.get("value", "on" if t == "checkbox" else "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.data.append((self.select, a.get("value", "")))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self.textarea is not None:
            text = self.textarea[1]
            if text.startswith("\n"):
                text = text[1:]
            self.data.append((self.textarea[0], text))
            self.textarea = None
        elif tag == "select":
            self.select = None


def form_data(response):
    parser = FormParser()
    parser.feed(response.content.decode())
    out = {}
    for k, v in parser.data:
        out.setdefault(k, []).append(v)
    return out


def test_probe(client, django_user_model, make_article):
    editor = django_user_model.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    client.force_login(editor)
    article = make_article(body="Old words here.", status=Status.DRAFT)
    old = Version.objects.get_for_object(article).get()
    article.body = "New words here."
    article.save()
    perform(article, "publish", user=editor)
    url = reverse("admin:articles_article_revision", args=[article.pk, old.pk])
    response = client.get(url)
    data = form_data(response)
    print(data)
    response = client.post(url, data)
    print(response.status_code)
    article.refresh_from_db()
    print(article.status, article.published_at, article.body, article.version)
    print(Version.objects.get_for_object(article).count())


def test_probe2(client, django_user_model, make_article):
    editor = django_user_model.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    client.force_login(editor)
    article = make_article(body="Old words here.", status=Status.DRAFT)
    r = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    page = r.content.decode()
    print([l for l in page.splitlines() if "version" in l or "loaded_at" in l])
    print(form_data(r).keys())
    print(r.context["adminform"].form.fields.keys())
