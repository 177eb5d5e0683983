"""
Hostile content in a real browser: with every payload of the XSS corpus
(tests/xss_corpus.py) stored, each public page and the admin's lists and
forms are opened in Chromium, focused and hovered all over, and must run none
of it: no dialog, no call to the corpus's marker function, no error, no
navigation, no element or attribute that could run script.

Twice: as served (with the Content-Security-Policy), and with the browser
told to ignore the policy, which shows that escaping alone stops every
payload. The browser fixtures are in tests/browser_support.py.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles.models import Tag
from articles.roles import CHIEF_EDITOR
from tests.browser_support import (
    ARTIFACTS,
    DESKTOP,
    TIMEOUT_MS,
    screenshot,
    serve_collected_static,
)
from tests.xss_corpus import BY_ID, MARKER, PAYLOADS, find_scripts, plant_directly

pytestmark = pytest.mark.browser

# One payload of each category, for the pages that show one payload each.
SAMPLE = list({payload.category: payload for payload in PAYLOADS}.values())
# For the admin's forms (the story of every payload fills the body and the
# tags' options with all of them): a payload aimed at inputs' values, in each
# model's form, and one aimed at a textarea, in the tag's description.
FIELD_BREAKOUT = next(p for p in PAYLOADS if p.text.startswith('" onfocus'))
TEXTAREA_BREAKOUT = next(p for p in PAYLOADS if p.text.startswith("</textarea>"))
# Payloads that run when put into a page as they are.
CONTROL = [p for p in PAYLOADS if p.category in {"script tag", "event handler"}]

# Run in every page: hover and focus what content could hold, then say what
# in the page could run script, and which payloads it shows.
INSPECT = """
async ({ admin }) => {
  const content = document.querySelector("#content, main") || document.body;
  for (const element of content.querySelectorAll("*")) {
    element.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
  }
  const focusable = "a[href], input, select, textarea, button, [tabindex], " +
    "[contenteditable], [autofocus]";
  for (const element of content.querySelectorAll(focusable)) element.focus();
  await new Promise((resolve) => setTimeout(resolve, 0));

  const problems = [];
  const schemes = ["javascript:", "data:", "vbscript:"];
  const dangerous = (url) => {
    try {
      return schemes.includes(new URL(url, document.baseURI).protocol);
    } catch {
      return false;
    }
  };
  const urls = ["href", "src", "action", "formaction", "data", "xlink:href",
                "poster", "background"];
  for (const element of document.querySelectorAll("*")) {
    for (const { name, value } of element.attributes) {
      if (name.startsWith("on") || name === "srcdoc" || name === "http-equiv") {
        problems.push(`<${element.localName} ${name}>`);
      } else if (urls.includes(name) && dangerous(value)) {
        problems.push(`<${element.localName} ${name}="${value.slice(0, 60)}">`);
      }
    }
  }
  const forbidden = ["iframe", "frame", "object", "embed", "base", "math",
                     "meta[http-equiv]", "style", "template", "noscript", "xmp",
                     "noembed", "noframes", "plaintext", "body title",
                     ...(admin ? [] : ["svg", "textarea"])];
  for (const element of document.querySelectorAll(forbidden.join(","))) {
    problems.push(`<${element.localName}> element`);
  }
  for (const script of document.scripts) {
    if (script.src && new URL(script.src).origin !== location.origin) {
      problems.push(`script from ${script.src}`);
    } else if (!script.src && script.type !== "application/ld+json") {
      problems.push(`inline script: ${script.text.slice(0, 60)}`);
    }
  }
  if (document.baseURI !== location.href) problems.push(`base ${document.baseURI}`);
  const html = document.documentElement.outerHTML;
  const shown = new Set([...html.matchAll(/xssHit\\((\\d+)\\)/gi)].map((m) => +m[1]));
  return { problems, shown: [...shown] };
}
"""


@dataclass
class Tally:
    """What the browser saw: payloads shown per surface, any run, any alarm."""

    shown: dict[str, set[int]] = field(default_factory=dict)
    executed: set[int] = field(default_factory=set)
    alarms: list[str] = field(default_factory=list)

    def ran(self, how: str, evidence: object) -> None:
        """Record a payload that ran, named by the id in ``evidence``."""
        found = MARKER.search(str(evidence)) or re.search(r"\d+", str(evidence))
        self.executed.add(int(found.group(found.lastindex or 0)) if found else 0)
        self.alarms.append(f"{how}: {evidence}")

    @property
    def tried(self) -> set[int]:
        return set().union(*self.shown.values()) & set(BY_ID)


@pytest.fixture
def corpus(transactional_db, live_server):
    """Every payload stored, and a chief editor's sessions for the admin."""
    planted = plant_directly(PAYLOADS)
    chief = User.objects.create_user("xss-chief", is_staff=True)
    chief.groups.add(Group.objects.get(name=CHIEF_EDITOR))
    planted.sessions = []
    for _ in range(3):  # one per browser context
        client = Client()
        client.force_login(chief)
        planted.sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return planted


def numbered(path: str, count: int, per_page: int, param: str = "page") -> list[str]:
    """Return ``path`` and its further pages for a list of ``count`` items."""
    pages = -(-count // per_page)
    return [path, *(f"{path}?{param}={number}" for number in range(2, pages + 1))]


def pages_to_open(planted) -> list[tuple[str, str]]:
    """
    (surface, path) of the pages to open: the story of every payload, the
    story of each category (headed by one of its payloads: a page's title,
    meta tags and JSON-LD hold one headline), the lists, a sample of topic
    pages and of the admin's forms.
    """
    now = timezone.localtime()
    story, stories = planted.everything, planted.categories.values()
    tag_list = reverse("admin:articles_tag_changelist")
    tags_per_page = admin.site._registry[Tag].list_per_page
    return [
        ("story of every payload", story.get_absolute_url()),
        *(("story pages", story.get_absolute_url()) for story in stories),
        *(("topic pages", planted.tags[p.id].get_absolute_url()) for p in SAMPLE[::4]),
        ("front page", reverse("articles:front")),
        ("topic list", reverse("articles:tags")),
        *(
            ("headline list", path)
            for path in numbered(reverse("articles:headlines"), len(PAYLOADS), 50)
        ),
        ("corrections", reverse("articles:corrections")),
        ("archive", reverse("articles:archive", args=[f"{now:%Y}", f"{now:%m}"])),
        ("search", f"{reverse('articles:search')}?q=xssHit"),
        *(
            ("admin lists", path)
            for path in numbered(tag_list, len(PAYLOADS), tags_per_page, "p")
        ),
        ("admin lists", reverse("admin:articles_article_changelist")),
        ("admin lists", reverse("admin:articles_headline_changelist")),
        ("admin forms", reverse("admin:articles_article_change", args=[story.pk])),
        *(
            ("admin forms", reverse(f"admin:articles_{name}_change", args=[pk]))
            for name, pk in [
                ("article", planted.articles[FIELD_BREAKOUT.id].pk),
                ("headline", planted.headlines[FIELD_BREAKOUT.id].pk),
                ("tag", planted.tags[FIELD_BREAKOUT.id].pk),
                ("tag", planted.tags[TEXTAREA_BREAKOUT.id].pk),
            ]
        ),
    ]


def watch(context, tally: Tally):
    """Open a page in ``context`` that reports to ``tally`` whatever runs."""
    # The function every payload calls, in every frame of every page.
    context.expose_binding("xssHit", lambda source, n: tally.ran("xssHit", n))
    # What only the Content-Security-Policy stopped counts as having run.
    context.expose_binding(
        "xssRefused", lambda source, sample: tally.ran("CSP refused", sample)
    )
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => {"
        "  if (/xssHit/i.test(event.sample)) xssRefused(event.sample);"
        "});"
    )
    page = context.new_page()
    context.on("page", lambda opened: tally.ran("window opened", opened.url))
    page.on(
        "dialog", lambda dialog: (tally.ran("dialog", dialog.message), dialog.dismiss())
    )
    page.on("pageerror", lambda error: tally.alarms.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            tally.alarms.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    return page


def new_context(browser, live_server, planted, *, bypass_csp: bool):
    """A browser context signed in to the admin with a session of its own."""
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, bypass_csp=bypass_csp
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", answer)
    # Readers are anonymous: the session goes only to the admin.
    session = {"name": settings.SESSION_COOKIE_NAME, "value": planted.sessions.pop()}
    context.add_cookies(
        [{**session, "domain": urlsplit(live_server.url).hostname, "path": "/admin/"}]
    )
    return context


def answer(route):
    """
    Serve static files as WhiteNoise would, and answer what else a page
    fetches besides its document, scripts and styles (the images a payload
    asks for, the favicon) with a 404 that never reaches the server, which
    sets off any error handler as well.
    """
    request = route.request
    if urlsplit(request.url).path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
        serve_collected_static(route)
    elif request.resource_type in {"document", "script", "stylesheet"}:
        route.continue_()
    else:
        route.fulfill(status=404, body="")


def visit(browser, live_server, planted) -> dict[str, Tally]:
    """
    Open every page twice, as served and with the Content-Security-Policy
    ignored, in two browser contexts; return what happened in each.
    """
    tallies, pages, contexts = {}, {}, []
    for name, bypass_csp in [("with the policy", False), ("escaping alone", True)]:
        context = new_context(browser, live_server, planted, bypass_csp=bypass_csp)
        contexts.append(context)
        tallies[name] = Tally()
        pages[name] = watch(context, tallies[name])
    for surface, path in pages_to_open(planted):
        for name, page in pages.items():
            tally = tallies[name]
            response = page.goto(path)
            assert response.status == 200, path
            page.keyboard.press("Tab")
            result = page.evaluate(INSPECT, {"admin": path.startswith("/admin/")})
            tally.alarms += [f"{path}: {problem}" for problem in result["problems"]]
            tally.shown.setdefault(surface, set()).update(result["shown"])
            if page.url != f"{live_server.url}{path}":
                tally.alarms.append(f"{path}: navigated to {page.url}")
            if len(page.frames) != 1:
                tally.alarms.append(f"{path}: frames {[f.url for f in page.frames]}")
        if path == planted.everything.get_absolute_url():
            screenshot(pages["escaping alone"], "xss-story-of-every-payload")
    for context in contexts:
        context.close()
    return tallies


def control(browser, live_server, planted) -> Tally:
    """
    Put payloads into pages raw, unescaped, and return what ran: proof that
    the watch sees a payload that runs.
    """
    tally = Tally()
    context = new_context(browser, live_server, planted, bypass_csp=True)
    page = watch(context, tally)
    for payload in CONTROL:
        page.set_content(payload.text)
    page.wait_for_timeout(100)
    context.close()
    return tally


def test_no_payload_runs_in_the_browser(browser, live_server, corpus):
    tallies = visit(browser, live_server, corpus)
    unescaped = control(browser, live_server, corpus)

    tried = set.intersection(*(tally.tried for tally in tallies.values()))
    executed = set.union(*(tally.executed for tally in tallies.values()))
    for surface, ids in tallies["escaping alone"].shown.items():
        print(f"{surface}: {len(ids)} payloads")  # noqa: T201
    print(  # noqa: T201
        f"control: of {len(CONTROL)} payloads put into a page unescaped, "
        f"{len(unescaped.executed)} ran"
    )
    print(f"payloads tried: {len(tried)}, executed: {len(executed)}")  # noqa: T201
    for name, tally in tallies.items():
        assert tally.alarms == [], (name, tally.alarms)
    assert executed == set()
    assert len(tried) == len(PAYLOADS) >= 80
    assert len(unescaped.executed) >= len(CONTROL) // 2, unescaped.alarms
    # What ran raw, the markup check of tests/test_xss.py sees too.
    assert [
        i for i in unescaped.executed if not find_scripts(BY_ID[i].text).problems
    ] == []
    assert (ARTIFACTS / "xss-story-of-every-payload.png").exists()
