"""The pages' jinja2 templates (bot/web/templates) and how a page is answered."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.web.people import person, said

templates = Environment(
    loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(["html"])
)
templates.filters["said"] = said
templates.filters["person"] = person


def page(template: str, status: int = 200, **context) -> web.Response:
    return web.Response(
        text=templates.get_template(template).render(**context),
        content_type="text/html",
        status=status,
    )
