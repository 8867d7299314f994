"""Demo data for `make run`: staff superuser `admin`, a second staff member `ops` (group
operations) so four-eyes approvals can be tried at once, partners alpha and beta with users.

Idempotent: running it again changes nothing but the printed passwords (when generated).
Other apps extend it by registering a seeder in `core.demo`.
"""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import demo_seeders
from core.models import Partner, User
from core.services import (
    partner_create,
    partner_user_create,
    staff_member_ensure,
    staff_superuser_ensure,
    user_password_set,
)

DEMO_PARTNERS = {"alpha": "Alpha Capital", "beta": "Beta Payments"}
DEMO_OPERATOR = "ops"  # the second pair of eyes: proposes or approves what admin does not


class Command(BaseCommand):
    help = "Create (or refresh) the demo staff user, partners and their data."

    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD or secrets.token_urlsafe(12)
        with transaction.atomic():
            admin = staff_superuser_ensure(username="admin", password=password)
            staff_member_ensure(username=DEMO_OPERATOR, password=password, group="operations")
            for slug, name in DEMO_PARTNERS.items():
                partner = Partner.objects.filter(slug=slug).first() or partner_create(
                    slug=slug, name=name, acting_user=admin
                )
                user = User.objects.filter(username=slug).first()
                if user is None:
                    partner_user_create(
                        partner=partner, username=slug, password=password, acting_user=admin
                    )
                else:
                    user_password_set(user=user, password=password, acting_user=admin)
        for name, seeder in demo_seeders():
            self.stdout.write(f"seeding {name} ...")
            seeder(acting_user=admin, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  admin console: /admin/   login: admin / {password}")
        self.stdout.write(
            f"  second staff login: {DEMO_OPERATOR} / {password} (operations: four-eyes "
            "approves what admin proposes, and the other way round)"
        )
        self.stdout.write(f"  partner API users: alpha / {password}, beta / {password}")
