"""
Hostile content: a corpus of cross-site scripting payloads, and the means to
plant it through every door an editor has (the admin, the write API, the seed
import) and to look for anything of it that could run in a reader's browser.

Every payload, were it ever to run, calls ``alert(<id>)`` and ``xssHit(<id>)``
(the browser tests define ``xssHit``), so a run is caught and named. Each one
carries its marker ``xssHit(<id>)`` as literal text, which is how a surface is
seen to have carried it. No payload holds NUL or another C0 control character
but tab and newline: the database, the seed format and XML refuse those, and
that refusal is tested on its own.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from io import StringIO
from itertools import count
from urllib.parse import urlsplit

from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Correction, Headline, Status, Tag
from articles.rendering import render_markdown
from tests.test_workflow import admin_for, api_for

# Substituted into each template below: {n} is the payload's id, {js} what it
# runs.
JS = "alert({n}),self.xssHit&&xssHit({n})"
MARKER = re.compile(r"xssHit\((\d+)\)", re.IGNORECASE)
# The shortest text field a payload goes into, on one line: a tag's name.
SHORT_FIELD = 100

TEMPLATES: dict[str, list[str]] = {
    "script tag": [
        "<script>{js}</script>",
        "<SCRIPT>{js}</SCRIPT>",
        "<script src=data:,{js}></script>",
        "<script/x>{js}</script>",
        "<scr<script>ipt>{js}</scr</script>ipt>",
        "<<script>{js}//<</script>",
        '<script type="module">{js}</script>',
        "<script>/*</script>*/{js}</script>",
        "<script\t>{js}</script\t>",
        "<script>{js}",
    ],
    "event handler": [
        "<img src=x onerror={js}>",
        '<img src="x" onerror="{js}">',
        "<img/src=x/onerror={js}>",
        "<IMG SRC=x OnErRoR={js}>",
        "<img src=x onerror\t={js}>",
        "<svg onload={js}>",
        "<svg/onload={js}>",
        "<body onload={js}>",
        "<body onpageshow={js}>",
        "<input autofocus onfocus={js}>",
        "<select autofocus onfocus={js}></select>",
        "<textarea autofocus onfocus={js}></textarea>",
        "<details open ontoggle={js}>",
        "<video><source onerror={js}></video>",
        "<audio src=x onerror={js}>",
        "<div onmouseover={js}>hover me</div>",
        "<marquee onstart={js}>news</marquee>",
        "<iframe onload={js}></iframe>",
        "<object data=x onerror={js}></object>",
        "<style onload={js}></style>",
        "<x contenteditable autofocus onfocus={js}>x</x>",
        "<a tabindex=1 autofocus onfocus={js}>focus</a>",
        '<img src=x onerror="\\u0061lert({n}),xssHit({n})">',
        "<img src=x onerror=&#97;lert({n}),xssHit({n})>",
        "<form><button formaction=javascript:{js}>go</button></form>",
    ],
    "javascript: link": [
        '<a href="javascript:{js}">click</a>',
        '<a href="JaVaScRiPt:{js}">click</a>',
        '<a href=" javascript:{js}">click</a>',
        '<a href="java\tscript:{js}">click</a>',
        '<a href="java&#x09;script:{js}">click</a>',
        '<a href="java&Tab;script:{js}">click</a>',
        '<a href="&#106;avascript:{js}">click</a>',
        '<a href="&#x6A;avascript&colon;{js}">click</a>',
        '<a href="javascript&#58;{js}">click</a>',
        '<a href="jav&NewLine;ascript:{js}">click</a>',
        '<a href="%6Aavascript:{js}">click</a>',
        '<a href="vbscript:xssHit({n})">click</a>',
        '<iframe src="javascript:{js}"></iframe>',
        '<form action="javascript:{js}"><input type=submit></form>',
        '<math><a xlink:href="javascript:{js}">click</a></math>',
    ],
    "data: link": [
        '<a href="data:text/html,<script>{js}</script>">click</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='
        '#xssHit({n})">click</a>',
        '<iframe src="data:text/html,<script>{js}</script>"></iframe>',
        '<object data="data:text/html,<script>{js}</script>"></object>',
        '<embed src="data:image/svg+xml,<svg onload={js}>">',
        '<img src="data:image/svg+xml,<svg onload={js}>">',
        "[click](data:text/html,<script>{js}</script>)",
    ],
    "svg": [
        "<svg><script>{js}</script></svg>",
        "<svg><animate onbegin={js} attributeName=x dur=1s>",
        "<svg><set attributeName=onload to={js}>",
        '<svg><a xlink:href="javascript:{js}"><text y=9>click</text></a></svg>',
        '<svg><foreignObject><iframe srcdoc="<script>{js}</script>">',
        "<svg><image href=x onerror={js} />",
        "<svg><style><img src=x onerror={js}></style></svg>",
    ],
    "embedding": [
        '<iframe srcdoc="<script>{js}</script>"></iframe>',
        '<iframe srcdoc="&lt;img src=x onerror={js}&gt;"></iframe>',
        '<embed src="javascript:{js}">',
        '<object data="javascript:{js}"></object>',
        '<base href="javascript:{js}//">',
        '<link rel=stylesheet href="javascript:{js}">',
    ],
    "mutation": [
        "<math><mtext><table><mglyph><style><img src=x onerror={js}>",
        '<noscript><p title="</noscript><img src=x onerror={js}>">',
        '<svg></p><style><a id="</style><img src=x onerror={js}>">',
        "<math><mi><style><img src=x onerror={js}></style></mi></math>",
        '<!--<img src="--><img src=x onerror={js}//">',
        '<style><img src="</style><img src=x onerror={js}//">',
        '<title><img src="</title><img src=x onerror={js}>">',
        '<textarea><img src="</textarea><img src=x onerror={js}>">',
        '<xmp><img src="</xmp><img src=x onerror={js}>">',
        '<noembed><img title="</noembed><img src=x onerror={js}>">',
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror={js}>",
    ],
    "meta refresh": [
        '<meta http-equiv="refresh" content="0;url=javascript:{js}">',
        "<meta http-equiv=refresh "
        'content="0;url=data:text/html,<script>{js}</script>">',
        "<meta http-equiv=set-cookie content=xss=xssHit({n})>",
    ],
    "script breakout": [
        "</script><script>{js}</script>",
        "</SCRIPT ><img src=x onerror={js}>",
        "</script\t><svg onload={js}>",
        "<!--<script></script><script>{js}</script>",
        '"}]</script><script>{js}</script>',
        '"};{js};//',
        "\\\"});{js};//",
        "\u2028{js}\u2029",
    ],
    "title and attribute breakout": [
        "</title><script>{js}</script>",
        "</title><img src=x onerror={js}>",
        '" onfocus="{js}" autofocus x="',
        "' onfocus='{js}' autofocus x='",
        '"><img src=x onerror={js}>',
        "'><svg onload={js}>",
        '" onmouseover={js} x="',
        '"/><meta http-equiv=refresh content="0;url=javascript:{js}">',
        "</textarea><script>{js}</script>",
        "</option></select><img src=x onerror={js}>",
        "</noscript><img src=x onerror={js}>",
        "</style><script>{js}</script>",
        "--><script>{js}</script>",
        "`onfocus=`{js}` autofocus",
        '"\'--></style></script><svg onload={js}>',
    ],
    "markdown": [
        "<div>\n<script>{js}</script>\n</div>",
        "[click](javascript:{js})",
        "[click](JAVASCRIPT:{js})",
        "[click](  javascript:{js} )",
        "[click](<javascript:{js}>)",
        "[click](javascript&#58;{js})",
        "[click](&#x6A;avascript:{js})",
        '[click](java\tscript:{js} "title")',
        "[click][evil]\n\n[evil]: javascript:{js}",
        '[click][evil]\n\n[evil]: <javascript:{js}> "title"',
        "<javascript:{js}>",
        '![a](x "title\\" onerror=\\"{js}")',
        '![a](x" onerror="{js})',
        "![a](javascript:{js})",
        '![a][pic]\n\n[pic]: x "a" onerror="{js}"',
        "[<img src=x onerror={js}>](http://example.com/)",
        '[click](http://example.com/"onmouseover="{js})',
        '<http://example.com/"onmouseover="{js}>',
        "`<script>{js}</script>`",
        "    <script>{js}</script>",
        "```html\n<script>{js}</script>\n```",
        "*<img src=x onerror={js}>*",
        '<div markdown="1">[click](javascript:{js})</div>',
        '[click](http://example.com/){: onclick="{js}" }',
        'Paragraph\n{: onmouseover="{js}" autofocus tabindex=1 }',
        "Note[^x]\n\n[^x]: <img src=x onerror={js}>",
        "XSS here\n\n*[XSS]: <img src=x onerror={js}>",
        "| a |\n|---|\n| <img src=x onerror={js}> |",
        "> <script>{js}</script>",
    ],
    "html entity": [
        "&lt;script&gt;{js}&lt;/script&gt;",
        "&#60;script&#62;{js}&#60;/script&#62;",
        "&#x3C;img src=x onerror={js}&#x3E;",
        "&amp;lt;img src=x onerror={js}&amp;gt;",
        "&lt;a href=&quot;javascript:{js}&quot;&gt;click&lt;/a&gt;",
    ],
    "unicode escape": [
        "\\u003cscript\\u003e{js}\\u003c/script\\u003e",
        "\\x3cscript\\x3e{js}\\x3c/script\\x3e",
        "%3Cscript%3E{js}%3C/script%3E",
        "\uff1cscript\uff1e{js}\uff1c/script\uff1e",
        "<scr\u200bipt>{js}</scr\u200bipt>",
        "\u202e>tpircs/<{js}>tpircs<",
    ],
    "feed and xml": [
        "]]><script>{js}</script><![CDATA[",
        "<![CDATA[<script>{js}</script>]]>",
        "</description><script>{js}</script>",
        '</content:encoded><link>javascript:{js}</link>',
        '<x:script xmlns:x="http://www.w3.org/1999/xhtml">{js}</x:script>',
        '<!DOCTYPE x [<!ENTITY e "{js}">]>&e;',
        "&xss;&nbsp;&#0;xssHit({n})",
        "<?xml-stylesheet href=javascript:{js}?>",
    ],
    "style": [
        '<div style="background:url(javascript:{js})">styled</div>',
        '<div style="width:expression({js})">styled</div>',
        '<style>@import "javascript:{js}";</style>',
    ],
    "polyglot": [
        "jaVasCript:/*-/*`/*'/*\"/**/(/* */oNcliCk={js} )//</stYle/</titLe/"
        "</teXtarEa/</scRipt/--!><sVg/oNloAd={js}//>",
        "'\"><img src=x onerror={js}>",
        "{{constructor.constructor('xssHit({n})')()}}",
    ],
}  # fmt: skip


@dataclass(frozen=True)
class Payload:
    id: int
    category: str
    text: str

    @property
    def marker(self) -> str:
        return f"xssHit({self.id})"

    def line(self, limit: int = SHORT_FIELD) -> str:
        """The payload on one line, cut to ``limit`` (its marker kept)."""
        text = " ".join(self.text.split("\n"))
        if len(text) <= limit:
            return text
        return text[: limit - len(self.marker) - 1] + " " + self.marker


def build_corpus() -> list[Payload]:
    ids = count(1)
    return [
        Payload(
            id=(number := next(ids)),
            category=category,
            text=template.replace("{js}", JS).replace("{n}", str(number)),
        )
        for category, templates in TEMPLATES.items()
        for template in templates
    ]


PAYLOADS = build_corpus()
BY_ID = {payload.id: payload for payload in PAYLOADS}


def anthology(payloads: list[Payload] = PAYLOADS) -> str:
    """
    Return a story body holding every payload, each its own paragraph or
    block. Those after which Markdown is no longer read as Markdown (an open
    raw HTML block) come late, and the few that swallow all that follows (an
    unclosed <script>, which the sanitizer drops with its text) last, so that
    the others are shown, and read, as they would be on their own.
    """

    def spoils(payload: Payload) -> int:
        html = render_markdown(f"{payload.text}\n\n*Sentinel*")
        return 0 if "<em>Sentinel</em>" in html else 1 if "Sentinel" in html else 2

    return "\n\n".join(payload.text for payload in sorted(payloads, key=spoils))


def markers_in(text: str) -> set[int]:
    """Return the ids of the payloads whose marker appears in ``text``."""
    return {int(number) for number in MARKER.findall(html.unescape(text))} & set(BY_ID)


# Planting the corpus, through every door.

ARTICLE_ADD = "admin:articles_article_add"
HEADLINE_ADD = "admin:articles_headline_add"
TAG_ADD = "admin:articles_tag_add"
INLINES = ("headlines", "corrections")
# Each payload's story and headline come in through one door, by turns, so
# that every door takes payloads of every category; every payload names a
# tag, which only the admin can add.
DOORS = ("admin", "api", "seed")


def door(payload: Payload) -> str:
    return DOORS[payload.id % len(DOORS)]


@dataclass
class Planted:
    """What the corpus was stored as, by payload id."""

    tags: dict[int, Tag]
    articles: dict[int, Article]
    headlines: dict[int, Headline]
    everything: Article  # one story holding every payload, and every tag
    # One story per category, holding its payloads, headed by its first.
    categories: dict[str, Article] = field(default_factory=dict)
    doors: dict[int, str] = field(default_factory=dict)  # the door each came in by
    refused: dict[int, str] = field(default_factory=dict)  # by the seed import


def tag_slug(payload: Payload) -> str:
    return f"xss-{payload.id}"


def inline_management() -> dict[str, str]:
    """The management forms of the story form's inlines, with no forms."""
    return {
        f"{prefix}-{name}": "0"
        for prefix in INLINES
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    }


def plant(*, editor, chief, folder) -> Planted:
    """Store the corpus through the admin, the write API and the seed import."""
    tags = plant_tags_in_admin(chief, PAYLOADS)
    payloads = {name: [p for p in PAYLOADS if door(p) == name] for name in DOORS}
    articles, headlines, refused = plant_through_seed(folder, payloads["seed"])
    # What the seed format refuses (invisible characters, say) an editor can
    # still type: those come in through the API.
    payloads["api"] += [p for p in payloads["seed"] if p.id in refused]
    payloads["seed"] = [p for p in payloads["seed"] if p.id not in refused]
    doors = {p.id: name for name in DOORS for p in payloads[name]}
    for planted in [
        plant_in_admin(editor, payloads["admin"], tags),
        plant_through_api(editor, payloads["api"]),
    ]:
        articles.update(planted[0])
        headlines.update(planted[1])
    # The admin's correction inline shows its text read-only on every story
    # (get_readonly_fields() is handed the story, not the correction), so no
    # correction can be typed there: they are stored directly.
    for payload in [*payloads["admin"], *payloads["api"]]:
        Correction.objects.create(
            article=articles[payload.id], text=payload.text, created_by=editor
        )
    # In the admin, which takes any number of tags (the API, 100 at most).
    response = admin_for(editor).post(
        reverse(ARTICLE_ADD),
        {
            "headline": "Every payload at once",
            "slug": "every-payload-at-once",
            "body": anthology(),
            "tags": [tag.pk for tag in tags.values()],
            "_move": "publish",
            **inline_management(),
        },
    )
    assert response.status_code == 302, form_errors(response)
    everything = Article.objects.get(slug="every-payload-at-once")
    return Planted(tags, articles, headlines, everything, doors=doors, refused=refused)


def plant_tags_in_admin(chief, payloads: list[Payload]) -> dict[int, Tag]:
    """Add one tag per payload in the admin, named and described by it."""
    client = admin_for(chief)
    tags = {}
    for payload in payloads:
        response = client.post(
            reverse(TAG_ADD),
            {
                "name": payload.line(),
                "slug": tag_slug(payload),
                "kind": "topic",
                "description": payload.text,
                "aliases": "",
                "short_forms": "",
            },
        )
        assert response.status_code == 302, (payload, form_errors(response))
        tags[payload.id] = Tag.objects.get(slug=tag_slug(payload))
    return tags


def plant_in_admin(editor, payloads: list[Payload], tags: dict[int, Tag]):
    """
    Per payload, add and publish a story in the admin (headline, byline and
    body hostile), change it to give it a hostile dek, and add and publish a
    headline (every other one linked to the story).
    """
    client = admin_for(editor)
    articles, headlines = {}, {}
    for payload in payloads:
        line = payload.line(200)
        fields = {
            "headline": line,
            "slug": "",
            "dek": f"First draft of {payload.id}.",
            "byline": line,
            "body": payload.text,
            "seo_headline": "",
            "social_headline": "",
            "tags": [tags[payload.id].pk],
            **inline_management(),
        }
        response = client.post(reverse(ARTICLE_ADD), {**fields, "_move": "publish"})
        assert response.status_code == 302, (payload, form_errors(response))
        article = Article.objects.latest("pk")
        assert article.is_public, payload
        published = timezone.localtime(article.published_at)
        response = client.post(
            reverse("admin:articles_article_change", args=[article.pk]),
            {
                **fields,
                "slug": article.slug,
                "dek": payload.text,
                "published_at_0": f"{published:%Y-%m-%d}",
                "published_at_1": f"{published:%H:%M:%S}",
                "version": article.version,
            },
        )
        assert response.status_code == 302, (payload, form_errors(response))
        articles[payload.id] = Article.objects.get(pk=article.pk)

        response = client.post(
            reverse(HEADLINE_ADD),
            {
                "text": payload.line(300),
                "slug": "",
                "article": article.pk if payload.id % 2 else "",
                "tags": [tags[payload.id].pk],
                "_move": "publish",
            },
        )
        assert response.status_code == 302, (payload, form_errors(response))
        headlines[payload.id] = Headline.objects.latest("pk")
    return articles, headlines


def plant_through_api(editor, payloads: list[Payload]):
    """Per payload, create and publish a story and a headline with a token."""
    client = api_for(editor)
    articles, headlines = {}, {}
    for payload in payloads:
        line = payload.line(200)
        response = client.post(
            reverse("api:article-list"),
            {
                "headline": line,
                "seo_headline": line,
                "social_headline": line,
                "dek": payload.text,
                "byline": line,
                "body": payload.text,
                "tags": [tag_slug(payload)],
                "status": "published",
            },
            format="json",
        )
        assert response.status_code == 201, (payload, response.content)
        articles[payload.id] = Article.objects.get(slug=response.json()["slug"])
        response = client.post(
            reverse("api:headline-list"),
            {
                "text": payload.line(300),
                "article": response.json()["slug"] if payload.id % 2 else None,
                "tags": [tag_slug(payload)],
                "status": "published",
            },
            format="json",
        )
        assert response.status_code == 201, (payload, response.content)
        headlines[payload.id] = Headline.objects.get(slug=response.json()["slug"])
    return articles, headlines


def seed_name(payload: Payload) -> str:
    return f"xss-{payload.id:03}.txt"


def seed_document(payload: Payload) -> str:
    """A seed document whose body and headline list are the payload."""
    lines = [line for line in payload.text.split("\n") if line.strip()]
    # The body's first sentence becomes the story's headline and dek.
    return "\n".join([*lines, f"Filed with payload {payload.id}."]) + (
        f"\n\n{payload.line(300)}\n"
    )


def plant_through_seed(folder, payloads: list[Payload]):
    """
    Import one seed document per payload with `manage.py seed`; return the
    stories and headlines, and {id: reason} of the documents it refused.
    """
    folder.mkdir(exist_ok=True)
    for payload in payloads:
        (folder / seed_name(payload)).write_text(
            seed_document(payload), encoding="utf-8"
        )
    errors = StringIO()
    try:
        call_command("seed", str(folder), stdout=StringIO(), stderr=errors)
    except CommandError as error:
        assert "failed" in str(error)
    refused = {
        payload.id: found.group(1)
        for payload in payloads
        if (found := re.search(rf"{seed_name(payload)}:(\d+: .+)", errors.getvalue()))
    }
    imported = [payload for payload in payloads if payload.id not in refused]
    articles = {
        payload.id: Article.objects.get(source__name=seed_name(payload))
        for payload in imported
    }
    headlines = {
        payload.id: Headline.objects.get(source__name=seed_name(payload))
        for payload in imported
    }
    return articles, headlines, refused


def plant_directly(payloads: list[Payload]) -> Planted:
    """
    Store the corpus with the ORM: the same rows the doors store (they keep
    the text as typed, as tests/test_xss.py shows), in a fraction of the time.
    """
    now = timezone.now()
    tags, articles, headlines = {}, {}, {}
    for payload in payloads:
        line = payload.line(200)
        tag = Tag.objects.create(
            name=payload.line(), slug=tag_slug(payload), description=payload.text
        )
        article = Article.objects.create(
            headline=line,
            seo_headline=line if payload.id % 2 else "",
            dek=payload.text,
            byline=line,
            body=payload.text,
            status=Status.PUBLISHED,
            published_at=now - timedelta(seconds=payload.id),
        )
        article.tags.set([tag])
        Correction.objects.create(article=article, text=payload.text)
        headline = Headline.objects.create(
            text=payload.line(300),
            article=article if payload.id % 2 else None,
            status=Status.PUBLISHED,
            published_at=now - timedelta(seconds=payload.id),
        )
        headline.tags.set([tag])
        tags[payload.id], articles[payload.id] = tag, article
        headlines[payload.id] = headline
    everything = Article.objects.create(
        headline="Every payload at once",
        body=anthology(),
        status=Status.PUBLISHED,
        published_at=now,
    )
    everything.tags.set(tags.values())
    categories = {}
    for number, category in enumerate(dict.fromkeys(p.category for p in payloads)):
        members = [payload for payload in payloads if payload.category == category]
        line = members[0].line(200)
        story = Article.objects.create(
            headline=line,
            dek=members[0].text,
            byline=line,
            body=anthology(members),
            status=Status.PUBLISHED,
            published_at=now - timedelta(hours=1, seconds=number),
        )
        story.tags.set([tags[payload.id] for payload in members])
        for payload in members:
            Correction.objects.create(article=story, text=payload.text)
        categories[category] = story
    doors = {payload.id: "orm" for payload in payloads}
    return Planted(tags, articles, headlines, everything, categories, doors)


def form_errors(response) -> object:
    context = getattr(response, "context", None)
    if context and context.get("adminform"):
        return context["adminform"].form.errors
    return response.status_code


# Looking for anything that could run.

# Where the page's own script files live: static files, and the admin's
# translation catalogue.
OWN_SCRIPTS = ("/static/", "/admin/jsi18n/")
DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "data", "xlink:href", "poster",
    "background", "lowsrc", "dynsrc", "ping", "codebase", "cite", "srcset",
    "manifest", "icon",
}  # fmt: skip
FORBIDDEN_TAGS = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg",
    "math", "style", "portal", "template", "isindex",
    # Browsers read these as raw text up to their end tag, which this parser
    # does not: markup that looks inert inside one of them may not be.
    "xmp", "noembed", "noframes", "noscript", "plaintext", "textarea",
}  # fmt: skip
URL_TRIM = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
URL_DROP = {ord("\t"): None, ord("\n"): None, ord("\r"): None}
URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")


def url_scheme(value: str) -> str:
    """
    Return the scheme a browser reads in a URL attribute's value (entities
    are decoded by the parser already): C0 controls and spaces trimmed from
    the ends, tabs and newlines removed anywhere, as the URL standard says.
    """
    value = URL_TRIM.sub("", value).translate(URL_DROP).lower()
    scheme = URL_SCHEME.match(value)
    return scheme.group() if scheme else ""


JSON_TYPES = {"application/ld+json", "application/json"}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "param", "source", "track", "wbr",
}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class ScriptFinder(HTMLParser):
    """
    Walk a page and note everything in it that could run script and that no
    template of ours puts there; keep each element's text for the tests.

    The page's own scripts are JSON data (JSON-LD, ``json_script``), whose
    text is kept in ``json_blocks``, and files under /static/.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.elements: list[Element] = []
        self.json_blocks: list[str] = []
        self._open: list[Element] = []
        self._page_parts: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)
        if tag in {"html", "body"}:
            self._page_parts.add(tag)
        elif tag == "title" and self._page_parts != {"html"}:
            # Only a page's head has a title, read as raw text like the above.
            self.problems.append("<title> element outside the head")
        elif tag == "script":
            self._own_script(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if not any(element.tag == tag for element in self._open):
            return
        while self._open:
            element = self._open.pop()
            if self._open:
                self._open[-1].text += element.text
            if element.tag == tag:
                break
        if tag == "script" and self._json(element):
            if "<" in element.text:
                self.problems.append(f"'<' inside a JSON script: {element.text[:80]!r}")
            self.json_blocks.append(element.text)

    def handle_data(self, data):
        if self._open:
            self._open[-1].text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """Return the elements ``<tag>`` whose attributes include ``attrs``."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        return [
            element
            for element in self.elements
            if element.tag == tag
            and all(element.attrs.get(name) == value for name, value in wanted.items())
        ]

    @staticmethod
    def _json(element: Element) -> bool:
        kind = element.attrs.get("type", "").lower()
        return "src" not in element.attrs and kind in JSON_TYPES

    def _own_script(self, element: Element) -> None:
        """Note a <script> that is neither JSON data nor one of our files."""
        src = element.attrs.get("src")
        if src is None and not self._json(element):
            self.problems.append(f"<script {element.attrs}> element")
        elif src is not None and (
            urlsplit(src).scheme or not urlsplit(src).path.startswith(OWN_SCRIPTS)
        ):
            self.problems.append(f"<script src={src!r}>")

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        if tag == "link" and (dict(attrs).get("rel") or "").lower() == "import":
            self.problems.append("<link rel=import>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            elif name in {"srcdoc", "formaction", "http-equiv"}:
                self.problems.append(f"<{tag} {name}=…>")
            elif name in URL_ATTRIBUTES and url_scheme(value) in DANGEROUS_SCHEMES:
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "style" and re.search(
                r"javascript:|expression\s*\(|url\s*\(", value, re.I
            ):
                self.problems.append(f"<{tag} style={value[:60]!r}>")


def find_scripts(page: str) -> ScriptFinder:
    """Parse an HTML page (or fragment) and return what was found in it."""
    finder = ScriptFinder()
    finder.feed(page)
    finder.close()
    return finder
