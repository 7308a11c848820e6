"""Server-rendered HTML: the customer page (``/me``) and the partner portal (``/portal``).

Templates live in ``templates/`` (Jinja2, autoescaped), the texts of both UIs in one catalogue per language in
``messages/<lang>.json``. Nothing here is imported by the JSON API: routes import the page modules lazily, and only
those import Jinja2 (through ``render``). ``i18n`` and ``queries`` are light enough for the route table.
"""
