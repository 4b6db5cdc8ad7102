"""``{% load absolute_urls %}{% absolute_url "name" arg key=value %}``: hubs.links.absolute_url in a template."""

from __future__ import annotations

from typing import Any

from django import template

from hubs import links

register = template.Library()


@register.simple_tag
def absolute_url(viewname: str, *args: Any, **kwargs: Any) -> str:
    return links.absolute_url(viewname, *args, **kwargs)
