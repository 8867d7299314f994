"""Against the real PostgreSQL and Redis: publishing changes the very next decision of
ANOTHER process (a real second interpreter, no mock), and two staff claiming at once from
the review queue never get the same case."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.models import User
from core.services import partner_create
from risk.models import Decision, ReviewCase
from risk.services import review_claim_next

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]

# The second process: decides on the same transfer facts for every line it reads.
DECIDER = """
import json, sys, uuid
import django
django.setup()
from core.models import Partner
from risk.services.decisions import decision_make
from risk.velocity import Tally

partner = Partner.objects.get(slug="alpha")
print("ready", flush=True)
for line in sys.stdin:
    facts = {"amount": 2_000_000, "asset": "USD", "partner": "alpha", "counterparty": "x",
             "debit_account": "y", "reference": "", "code": "transfer", "pending": False}
    tally = Tally(subject="transfer", partner=str(partner.pk), asset="USD", amount=1,
                  counterparty="x")
    decision = decision_make(subject="transfer", subject_id=uuid.uuid4(), partner=partner,
                             facts=facts, tally=tally, record=False)
    print(json.dumps([decision.outcome, list(decision.reasons)]), flush=True)
"""


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def decider(partner):  # alpha, committed before the other process looks it up
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),  # the test database
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key-not-for-production-use"),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", DECIDER],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"

    def decide():
        process.stdin.write("go\n")
        process.stdin.flush()
        return json.loads(process.stdout.readline())

    yield decide
    process.stdin.close()
    process.wait(timeout=10)


def test_publishing_changes_the_next_decision_in_another_process(publish, decider):
    decider_before = decider()  # loads the (empty) rules
    assert decider_before == ["allow", []]

    publish(
        "transfer", {"reason_code": "large", "expression": "amount > 1000000", "outcome": "review"}
    )
    published_at = time.monotonic()
    assert decider() == ["review", ["large"]]
    assert time.monotonic() - published_at < 2

    # Rollback is publishing an older version again.
    first = publish("transfer")  # v2: no rules
    assert decider() == ["allow", []]
    from risk.models import RuleSetVersion
    from risk.services import rule_set_publish

    rule_set_publish(version=RuleSetVersion.objects.get(rule_set=first.rule_set, number=1))
    assert decider() == ["review", ["large"]]


def test_two_staff_claiming_at_once_get_different_cases(monkeypatch):
    from risk.services import review as review_module

    partner = partner_create(slug="alpha", name="Alpha")
    cases = []
    for _ in range(2):
        decision = Decision.objects.create(
            subject="transfer", subject_id=uuid.uuid4(), partner=partner, outcome="review"
        )
        cases.append(
            ReviewCase.objects.create(
                decision=decision,
                subject="transfer",
                subject_id=decision.subject_id,
                partner=partner,
            )
        )
    first, second = (
        User.objects.create_user(username=name, password="x", is_staff=True) for name in "ab"
    )
    holding = threading.Event()
    release = threading.Event()
    original = review_module.audit_record

    def slow_audit(**kwargs):  # the first claimer holds its row lock until the second is done
        if kwargs["actor"] == first:
            holding.set()
            release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(review_module, "audit_record", slow_audit)
    got = {}

    def claim(user):
        try:
            got[user.username] = review_claim_next(acting_user=user)
        finally:
            connection.close()

    one = threading.Thread(target=claim, args=(first,))
    one.start()
    assert holding.wait(10)
    claim(second)  # while the first still holds the oldest case locked
    release.set()
    one.join(10)
    assert got["a"].pk == cases[0].pk and got["b"].pk == cases[1].pk
    assert review_claim_next(acting_user=second) is None  # the queue is empty now
    states = dict(ReviewCase.objects.values_list("pk", "claimed_by__username"))
    assert states == {cases[0].pk: "a", cases[1].pk: "b"}
