"""Risk in the operations console: the review queue (claim next, approve/reject with a
reason, notes, all audited), rule editing with compile errors shown inline, the test box,
controls taking effect on the next order, and the dashboard tile."""

import pytest
from django.urls import reverse

from core.models import AuditEvent
from risk.models import Control, ReviewCase, Rule, RuleSetVersion
from risk.services import rule_set_draft, rule_set_ensure

pytestmark = pytest.mark.django_db
TRANSFERS = "/api/v1/ledger/transfers/"


@pytest.fixture
def held_transfers(partner_api, partner, other_partner, fund, publish):
    from ledger.services import account_open

    publish(
        "transfer", {"reason_code": "large", "expression": "amount > 1000000", "outcome": "review"}
    )
    alpha = fund(partner, "USD", 10_000_000)
    beta = account_open(partner=other_partner, asset="USD")
    ids = []
    for amount in ("20000.00", "30000.00"):
        body = {
            "debit_account": str(alpha.pk),
            "credit_account": str(beta.pk),
            "amount": amount,
            "asset": "USD",
        }
        response = partner_api.post(TRANSFERS, body, format="json")
        assert response.status_code == 202
        ids.append(response.json()["id"])
    return ids


def test_claim_next_takes_the_oldest_and_approving_posts_it(
    staff_client, held_transfers, partner_api
):
    queue = staff_client.get(
        reverse("admin:risk_reviewcase_changelist") + "?state__in=open,claimed"
    )
    assert queue.status_code == 200 and "Claim next (2 open)" in queue.content.decode()

    claimed = staff_client.post(reverse("admin:risk_reviewcase_claim"))
    case = ReviewCase.objects.get(state="claimed")
    assert str(case.subject_id) == held_transfers[0]  # oldest first
    assert claimed["Location"] == reverse("admin:risk_reviewcase_change", args=[case.pk])
    page = staff_client.get(claimed["Location"]).content.decode()
    assert "large" in page and "Approve" in page

    staff_client.post(
        reverse("admin:risk_reviewcase_note", args=[case.pk]), {"note": "called them"}
    )
    changelist = reverse("admin:risk_reviewcase_changelist")
    staff_client.post(
        changelist,
        {
            "action": "approve",
            "_selected_action": [str(case.pk)],
            "reason": "known",
            "confirmed": "yes",
        },
    )
    case.refresh_from_db()
    assert (case.state, case.reason) == ("approved", "known") and "called them" in case.notes
    assert partner_api.get(f"{TRANSFERS}{held_transfers[0]}/").json()["status"] == "posted"
    actions = set(
        AuditEvent.objects.filter(target_id=str(case.pk)).values_list("action", flat=True)
    )
    assert actions == {"risk.case_claimed", "risk.case_noted", "risk.case_approved"}


def test_rejecting_needs_a_reason(staff_client, held_transfers):
    case = ReviewCase.objects.order_by("created_at").last()
    changelist = reverse("admin:risk_reviewcase_changelist")
    asked = staff_client.post(changelist, {"action": "reject", "_selected_action": [str(case.pk)]})
    assert "Are you sure?" in asked.content.decode()
    staff_client.post(
        changelist,
        {
            "action": "reject",
            "_selected_action": [str(case.pk)],
            "reason": "fraud",
            "confirmed": "yes",
        },
    )
    case.refresh_from_db()
    assert case.state == "rejected"


def test_an_invalid_rule_is_refused_inline_with_where(staff_client):
    draft = rule_set_draft(rule_set=rule_set_ensure(subject="order"))
    url = reverse("admin:risk_rulesetversion_change", args=[draft.pk])
    form = {
        "review_threshold": "",
        "reject_threshold": "",
        "note": "",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-position": "0",
        "rules-0-name": "big",
        "rules-0-expression": "notional > ",
        "rules-0-outcome": "reject",
        "rules-0-score": "0",
        "rules-0-reason_code": "big",
        "rules-0-on_error": "reject",
        "rules-0-enabled": "on",
    }
    page = staff_client.post(url, form).content.decode()
    assert "line 1, column 11" in page and "Syntax error" in page and not Rule.objects.exists()

    form["rules-0-expression"] = "notionl > 5"
    assert "Unknown fact notionl" in staff_client.post(url, form).content.decode()

    form["rules-0-expression"] = "notional > 100000000"
    assert staff_client.post(url, form).status_code == 302
    assert Rule.objects.get().expression == "notional > 100000000"


def test_a_published_version_shows_its_rules_read_only(staff_client, publish):
    version = publish("order", {"reason_code": "big", "expression": "notional > 5"})
    page = staff_client.get(reverse("admin:risk_rulesetversion_change", args=[version.pk]))
    assert "notional &gt; 5" in page.content.decode()
    assert 'name="rules-0-expression"' not in page.content.decode()


def test_the_test_box_decides_pasted_facts_and_records_nothing(staff_client, publish):
    version = publish(
        "transfer",
        {"reason_code": "large", "expression": "amount > 100", "outcome": "review", "score": 5},
    )
    url = reverse("admin:risk_rulesetversion_test", args=[version.pk])
    page = staff_client.post(url, {"facts": '{"amount": 101, "asset": "USD", "evil": {"x": 1}}'})
    body = page.content.decode()
    assert "Outcome: review (score 5)" in body and "evil" not in body.split("Facts used")[1]
    from risk.models import Decision

    assert not Decision.objects.exists()
    assert "Not usable facts" in staff_client.post(url, {"facts": "[1"}).content.decode()


def test_the_dashboard_shows_what_waits_and_for_how_long(staff_client, held_transfers):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert "Held for review" in page and "2 unclaimed" in page


def test_publishing_from_the_console_rolls_back_too(staff_client, publish):
    first = publish("order", {"reason_code": "a", "expression": "notional > 5"})
    second = publish("order")
    assert first.rule_set.__class__.objects.get().live_version == second
    staff_client.post(
        reverse("admin:risk_rulesetversion_changelist"),
        {"action": "publish", "_selected_action": [str(first.pk)]},
    )
    assert RuleSetVersion.objects.get(pk=first.pk).rule_set.live_version_id == first.pk


def test_a_control_saved_in_the_console_is_audited(staff_client, partner):
    staff_client.post(
        reverse("admin:risk_control_add"),
        {
            "kind": "kill_switch",
            "partner": str(partner.pk),
            "instrument": "",
            "limit": "",
            "reference_price": "",
            "enabled": "on",
            "note": "incident 42",
        },
    )
    control = Control.objects.get()
    assert AuditEvent.objects.filter(target_id=str(control.pk), action__endswith="created").exists()


def test_seed_demo_publishes_the_demo_rules_once(settings):
    from io import StringIO

    from django.core.management import call_command

    from risk.models import RuleSet

    settings.DEMO_PASSWORD = "demo-password-for-tests"
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    live = {
        s.subject: sorted(s.live_version.rules.values_list("reason_code", flat=True))
        for s in RuleSet.objects.select_related("live_version")
    }
    assert live == {"order": ["large_notional", "order_burst"], "transfer": ["large_transfer"]}
    assert RuleSetVersion.objects.count() == 2


def test_a_backtest_counts_hits_and_changed_outcomes_as_computed_by_hand(
    staff_client, publish, django_capture_on_commit_callbacks
):
    """Six stored transfer decisions; live v1 reviews amount > 500; the draft reviews
    amount > 300 and rejects the 'watch' list. By hand: amounts 100, 400, 600 and 700 (on
    the list), 200 (on the list), 800 -> the > 300 rule hits 400, 600, 700, 800 (4), the
    list rule hits 700, 200 (2); changes: 400 allow->review, 700 review->reject,
    200 allow->reject."""
    import uuid

    from core.services import partner_create
    from risk.models import Backtest, Decision

    publish("transfer", {"reason_code": "big", "expression": "amount > 500", "outcome": "review"})
    draft = rule_set_draft(rule_set=rule_set_ensure(subject="transfer"))
    draft.rules.all().delete()
    for i, (code, expression, outcome) in enumerate(
        [("mid", "amount > 300", "review"), ("watch", "'watch' in partner_lists", "reject")]
    ):
        Rule.objects.create(
            version=draft,
            name=code,
            reason_code=code,
            expression=expression,
            outcome=outcome,
            position=i,
        )
    partner = partner_create(slug="bt", name="Bt")
    for amount, lists in [
        (100, []),
        (400, []),
        (600, []),
        (700, ["watch"]),
        (200, ["watch"]),
        (800, []),
    ]:
        Decision.objects.create(
            subject="transfer",
            subject_id=uuid.uuid4(),
            partner=partner,
            outcome="allow",
            facts={"amount": amount, "asset": "USD", "partner_lists": lists},
        )
    with django_capture_on_commit_callbacks(execute=True):  # the task is sent at commit
        staff_client.post(
            reverse("admin:risk_rulesetversion_changelist"),
            {"action": "backtest", "_selected_action": [str(draft.pk)], "days": "7"},
        )
    backtest = Backtest.objects.get()  # Celery runs eagerly in tests
    assert (backtest.state, backtest.done, backtest.total) == ("done", 6, 6)
    assert {r["reason"]: r["hits"] for r in backtest.result["rules"]} == {"mid": 4, "watch": 2}
    assert backtest.result["changes"] == {
        "allow->reject": 1,
        "allow->review": 1,
        "review->reject": 1,
    }
    page = staff_client.get(reverse("admin:risk_backtest_change", args=[backtest.pk]))
    assert (
        "would hit" in page.content.decode() and "6 / 6 decisions (100%)" in page.content.decode()
    )
