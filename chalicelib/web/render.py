"""The page shell's machinery: the Jinja2 environment (autoescaped), the per-response CSP nonce and the security
headers every HTML answer carries. Importing this module imports Jinja2: only the HTML routes do, lazily."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.ext import Extension
from jinja2.runtime import Context

from chalicelib import https
from chalicelib.web.i18n import Locale, languages, locale

TEMPLATES = Path(__file__).resolve().parent / "templates"
Headers = dict[str, str | list[str]]
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class Page(NamedTuple):
    body: str
    headers: Headers


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def headers(nonce: str) -> Headers:
    """No script may run, the only style is the inline one carrying this response's nonce."""
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return {**HEADERS, "Content-Security-Policy": csp}


class Compact(Extension):
    """Templates are written one element per line for people; the page is sent without that layout: every line is
    stripped and the lines joined. A space that matters at a line's edge is written ``{{ " " }}``."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return "".join(line.strip() for line in source.splitlines())


def _with_locale(method: str) -> Any:
    @pass_context
    def apply(context: Context, value: Any, *args: Any) -> str:
        return str(getattr(context["t"], method)(value, *args))

    return apply


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        extensions=[Compact],
        auto_reload=False,
    )
    # {{ n|group }} {{ minor|money }} {{ bps|fraction(100) }} {{ iso|date(tz) }}: in the page's language
    env.filters.update({name: _with_locale(name) for name in ("group", "money", "fraction", "date")})
    return env


def language_links(current: str, href: str) -> list[dict[str, str]]:
    """The switch to every other language: ``href`` ends where the language code goes (``/portal?lang=``)."""
    return [{"lang": lang, "name": locale(lang).name, "href": href + lang} for lang in languages() if lang != current]


def render(template: str, t: Locale, **context: Any) -> Page:
    """A page in ``t``'s language with a fresh nonce for its inline CSS, and the headers that go with it."""
    nonce = new_nonce()
    body = environment().get_template(template).render(t=t, lang=t.lang, nonce=nonce, **context)
    return Page(body, headers(nonce))


def is_https(call: Any) -> bool:
    """Whether this request came over HTTPS, so that its cookies are ``Secure`` (the same test as the one that adds
    ``Strict-Transport-Security`` to every answer: ``chalicelib.https``)."""
    return https.is_https(call.header)


def redirect(location: str, set_cookies: list[str] | None = None) -> Any:
    """303 See Other to ``location`` (after a form), with the cookies to set; a tiny page for clients that stop."""
    from chalice.app import Response

    headers: Headers = {"Location": location, "Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}
    if set_cookies:
        headers["Set-Cookie"] = set_cookies if len(set_cookies) > 1 else set_cookies[0]
    body = environment().get_template("portal/redirect.html").render(location=location)
    return Response(body=body, status_code=303, headers=headers)
