"""Create a support staff user with a confirmed TOTP device.

With ``--on-call`` the person joins the default on-call rota (made, with the
default escalation policy, when missing), so a small install has a duty
engineer at once. Prints the device's otpauth:// URL so the person can add it to an
authenticator app; the admin refuses staff without a verified device. Run
again, it changes nothing and prints the existing device's URL.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.services.staff import staff_user_ensure


class Command(BaseCommand):
    help = "Create a staff user and a confirmed TOTP device; prints the otpauth:// URL. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The staff member's email address; also their username.")
        parser.add_argument("--password", required=True, help="Their password (kept if the user already exists).")
        parser.add_argument("--superuser", action="store_true", help="Make the user a superuser.")
        parser.add_argument(
            "--on-call",
            action="store_true",
            help="Put the user on the default on-call rota (made, with the default escalation policy, if missing).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            enrolment = staff_user_ensure(
                email=options["email"],
                password=options["password"],
                superuser=options["superuser"],
                on_call=options["on_call"],
            )
        except ValidationError as exc:
            reasons = [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
            raise CommandError("\n".join(reasons)) from exc
        if not enrolment.created_user:
            self.stderr.write(f"{enrolment.user.email} already exists; password left unchanged.")
        self.stdout.write(enrolment.device.config_url)
        if options["on_call"]:
            self.stderr.write(f"{enrolment.user.email} is on the default on-call rota.")
