"""Sizes in binary units everywhere a person reads them: one formatting
function (hubs.display.bytes_label), one template filter that calls it, and no
decimal-labelled filesizeformat left in a template or a module."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Template

ROOT = Path(settings.BASE_DIR)


def test_the_bytes_label_filter_shows_binary_units() -> None:
    rendered = Template("{% load display %}{{ size|bytes_label }}").render(Context({"size": 1_572_864}))
    assert rendered == "1.5 MiB"


def test_no_template_or_module_uses_filesizeformat() -> None:
    users = [
        str(path.relative_to(ROOT))
        for folder in ("templates", "portal", "snapshots", "hubs")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".html", ".txt", ".py"}
        and "tests" not in path.parts
        and re.search(r"filesizeformat", path.read_text(encoding="utf-8"))
    ]
    assert users == [], "sizes are binary: use the bytes_label filter (portal.templatetags.display)"


def test_the_upload_script_labels_sizes_in_binary_units() -> None:
    script = (ROOT / "static" / "js" / "files.js").read_text(encoding="utf-8")
    assert '"KiB", "MiB", "GiB", "TiB"' in script
    assert not re.search(r'"[KMGT]B"', script)
