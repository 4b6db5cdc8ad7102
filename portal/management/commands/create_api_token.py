"""Make a personal access token for a user, for support staff and scripts.

Prints only the token, so a script can capture it. The token acts in the
user's only workspace, or in the one named with --tenant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from hubs.models import Membership
from portal.models import User
from portal.tokens import api_token_create


class Command(BaseCommand):
    help = "Make a personal access token for EMAIL; prints only the token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The user's email address.")
        parser.add_argument("--tenant", default=None, help="The workspace's slug; needed if the user has several.")
        parser.add_argument("--name", default="Command line", help="The token's name, shown in the portal.")
        parser.add_argument(
            "--scope", default="api", choices=["api", "dav"], help="api (the REST API) or dav (a WebDAV app password)."
        )
        parser.add_argument("--expires-days", type=int, default=None, help="Days until it expires; none by default.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"There is no user with the email address {options['email']!r}.")
        memberships = Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug")
        if options["tenant"] is not None:
            memberships = memberships.filter(tenant__slug=options["tenant"])
            if not memberships:
                raise CommandError(f"{user.email} is not a member of a workspace with the slug {options['tenant']!r}.")
        elif not memberships:
            raise CommandError(f"{user.email} belongs to no workspace.")
        elif len(memberships) > 1:
            slugs = ", ".join(membership.tenant.slug for membership in memberships)
            raise CommandError(f"{user.email} belongs to several workspaces ({slugs}); choose one with --tenant.")
        expires_days = options["expires_days"]
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days is not None else None
        try:
            _, raw = api_token_create(
                user=user,
                tenant=memberships[0].tenant,
                name=options["name"],
                expires_at=expires_at,
                scope=options["scope"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(raw)
