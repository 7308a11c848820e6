"""Every console page: the header with the language switch, the sections' navigation, the signed-in operator,
and the hidden fields of every form (CSRF token and a nonce drawn as the form is rendered)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ApiError
from chalicelib.web import i18n
from chalicelib.web.admin.access import Operator
from chalicelib.web.portal_session import new_form_nonce
from chalicelib.web.render import Page, language_links, render

SECTIONS = ("partners", "program", "customers", "campaigns", "settlements", "audit", "staff")


def page(template: str, operator: Operator, lang: str, section: str, switch: str, **context: Any) -> Page:
    """A console page in ``lang``; ``switch`` is the page's own address ending where ``lang=`` goes."""
    return render(
        f"admin/{template}",
        i18n.locale(lang),
        language_links=language_links(lang, switch),
        operator=operator,
        can_write=operator.can_write,
        csrf=operator.csrf,
        form_nonce=new_form_nonce,
        sections=SECTIONS,
        section=section,
        **context,
    )


def error(lang: str, problem: ApiError) -> Page:
    return render("admin/error.html", i18n.locale(lang), problem=problem)
