"""Create a tenant with its owner in a hub, for support staff and scripts.

Prints only the tenant's slug, so scripts can capture it. Bad input exits
non-zero with every reason on stderr and creates nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from portal.services.tenants import tenant_create

# Tenant.slug is a SlugField(max_length=63): one DNS label.
SLUG_MAX_LENGTH = 63


class Command(BaseCommand):
    help = "Create a tenant, its owner and the owner's membership in a hub; prints the tenant slug."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The company's name.")
        parser.add_argument("--hub", required=True, help="The hub code (uk, de, us, ae, hk, au, nz).")
        parser.add_argument("--owner", required=True, help="The owner's email address; also their username.")
        parser.add_argument("--password", required=True, help="The owner's password.")
        parser.add_argument("--slug", default=None, help="The tenant's address; made from the name when left out.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        reasons: list[str] = []
        if slug is not None:
            try:
                validate_slug(slug)
            except ValidationError as exc:
                reasons.extend(f"slug: {message}" for message in exc.messages)
            if len(slug) > SLUG_MAX_LENGTH:
                reasons.append(f"slug: at most {SLUG_MAX_LENGTH} characters.")
        if reasons:
            raise CommandError("\n".join(reasons))
        try:
            result = tenant_create(
                name=options["name"],
                hub_code=options["hub"].strip().lower(),
                owner_email=options["owner"],
                owner_password=options["password"],
                slug=slug,
            )
        except ValidationError as exc:
            raise CommandError("\n".join(_reasons(exc))) from exc
        self.stdout.write(result.tenant.slug)


def _reasons(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
    return list(error.messages)
