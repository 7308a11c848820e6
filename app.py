"""Chalice entry point: wiring only. Routes, auth and schemas live in chalicelib.routes."""

from chalice.app import Chalice

from chalicelib.http import make_view
from chalicelib.routes import ROUTES

app = Chalice(app_name="coalition-loyalty")

for _route in ROUTES:
    app.route(_route.path, methods=[_route.method], name=_route.name, content_types=["*/*"])(make_view(app, _route))
