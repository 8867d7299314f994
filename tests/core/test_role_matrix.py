"""The role matrix: every page and action of the console, for every staff group, is allowed
or refused exactly as core.staff_groups.ROLE_TABLE says.

For each model in the console and each group, a member of that group (and nothing else)
walks the model's changelist, add, change (GET and POST), delete and history pages, the
admin's own URLs, and every action; what a superuser can do there is the ceiling, the table
decides the rest. A model, URL or action added without its rights fails here.
"""

import functools
import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.jobs import jobs
from core.models import IdempotentRequest, JobRun, User
from core.services import audit_record, partner_create, partner_user_create
from core.staff_groups import (
    GROUPS,
    ROLE_TABLE,
    codename,
    rights_of,
    role_table_escalations,
    role_table_missing_permissions,
    role_table_permissions,
    staff_groups_sync,
)
from ledger.adjustments import adjustment_propose
from ledger.models import LedgerCheckRun
from ledger.services import TransferRequest, account_open, house_accounts_ensure, transfer_create
from tests.conftest import PASSWORD
from tests.console_html import forms_opened_inside_a_form

pytestmark = pytest.mark.django_db

CONSOLE_MODELS = sorted(model._meta.label_lower for model in admin.site._registry)
STANDARD_URLS = {"changelist", "add", "change", "delete", "history"}


# --- The table itself ----------------------------------------------------------------------


def test_every_model_in_the_console_is_in_the_role_table():
    missing = [label for label in CONSOLE_MODELS if label not in ROLE_TABLE]
    assert missing == [], f"add these to core.staff_groups.ROLE_TABLE: {missing}"


def test_the_table_names_only_real_groups_and_rights_that_exist():
    assert {group for cells in ROLE_TABLE.values() for group in cells} <= set(GROUPS)
    assert role_table_missing_permissions() == []


def test_any_right_on_a_model_comes_with_seeing_it():
    blind = [(m, g) for m, cells in ROLE_TABLE.items() for g, r in cells.items() if "view" not in r]
    assert blind == []


def test_no_group_may_manage_people_or_rights():
    assert role_table_escalations() == []
    for group in Group.objects.filter(name__in=GROUPS):
        assert not group.permissions.filter(
            content_type__app_label="auth", codename__regex=r"^(add|change|delete)_"
        ).exists()
        assert not group.permissions.filter(
            content_type__app_label="core",
            content_type__model="user",
            codename__in=["add_user", "change_user", "delete_user"],
        ).exists()


def test_the_groups_hold_exactly_the_tables_rights_even_after_a_hand_edit():
    operations = Group.objects.get(name="operations")
    from django.contrib.auth.models import Permission

    operations.permissions.add(Permission.objects.get(codename="change_user"))

    staff_groups_sync()

    for name in GROUPS:
        held = set(Group.objects.get(name=name).permissions.values_list("pk", flat=True))
        table = set(
            Permission.objects.filter(role_table_permissions(name)).values_list("pk", flat=True)
        )
        assert held == table
    assert not operations.permissions.filter(codename="change_user").exists()


def test_a_model_missing_from_the_table_gives_no_group_anything(monkeypatch):
    from core import staff_groups

    monkeypatch.setattr(
        staff_groups,
        "ROLE_TABLE",
        {k: v for k, v in ROLE_TABLE.items() if k != "ledger.adjustment"},
    )

    staff_groups_sync()

    for name in GROUPS:
        assert (
            not Group.objects.get(name=name)
            .permissions.filter(content_type__model="adjustment")
            .exists()
        )


# --- One object of each model in the console -----------------------------------------------


def _account_and_transfer():
    partner = partner_create(slug="alpha", name="Alpha Capital")
    account = account_open(partner=partner, asset="USD")
    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    deposit = transfer_create(
        request=TransferRequest(
            debit_account_id=bank.pk,
            credit_account_id=account.pk,
            amount=10_000,
            asset="USD",
            code="deposit",
        )
    )
    return bank, account, deposit


def _adjustment(boss):
    bank, account, _ = _account_and_transfer()
    return adjustment_propose(
        debit_account=bank, credit_account=account, amount=500, reason="wire", acting_user=boss
    )


def _periodic_task():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="probe", task="core.tasks.trace_probe", interval=every, enabled=True
    )


def _access(model_name):
    from axes import models

    model = getattr(models, model_name)
    fields = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "someone"}
    if model_name == "AccessAttempt":
        fields.update(get_data="", post_data="", failures_since_start=5)
    return model.objects.create(**fields, path_info="/admin/login/")


def _instrument():
    from trading.demo import demo_instrument_ensure

    return demo_instrument_ensure()[0]


def _order(instrument=None, *, side="buy", cid="o1"):
    """An open order as rows (the walk needs the row, not the money behind it)."""
    from trading.models import Order

    return Order.objects.create(
        partner=partner_create(slug=f"trader-{cid}", name="Trader"),
        client_order_id=cid,
        instrument=instrument or _instrument(),
        side=side,
        price=1000,
        quantity=10,
        status="accepted",
        sequence=1 if side == "buy" else 2,
        booked=True,
    )


def _trade():
    from trading.models import Trade

    buy = _order()
    sell = _order(buy.instrument, side="sell", cid="o2")
    return Trade.objects.create(
        instrument=buy.instrument,
        buy_order=buy,
        sell_order=sell,
        price=1000,
        quantity=5,
        aggressor_side="sell",
        sequence=1,
        executed_at=timezone.now(),
    )


def _matcher_state():
    from trading.models import MatcherState

    return MatcherState.objects.create(instrument=_instrument(), heartbeat_at=timezone.now())


def _statement():
    from settlement.models import BankStatement

    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    return BankStatement.objects.create(
        account=bank,
        format="csv",
        statement_ref="probe-1",
        digest="0" * 64,
        opening_balance=0,
        closing_balance=100,
        period_start=timezone.now().date(),
        period_end=timezone.now().date(),
        line_count=1,
        imported_at=timezone.now(),
    )


def _statement_line():
    from settlement.models import StatementLine

    return StatementLine.objects.create(
        statement=_statement(), line_no=1, value_date=timezone.now().date(), amount=100
    )


def _settlement(label: str):
    """A row of each settlement model: the open batch, an obligation in it, a statement
    with a line, a match and a break."""
    from settlement import models
    from settlement.services.windows import batch_open_ensure

    if label == "settlement.settlementbatch":
        return batch_open_ensure()
    if label == "settlement.obligation":
        return models.Obligation.objects.create(
            batch=batch_open_ensure(),
            partner=partner_create(slug="owing", name="Owing"),
            asset_id="USD",
            net_amount=-100,
            paid_gross=100,
            received_gross=0,
            legs=1,
        )
    if label == "settlement.bankstatement":
        return _statement()
    if label == "settlement.statementline":
        return _statement_line()
    if label == "settlement.statementmatch":
        return models.StatementMatch.objects.create(
            statement=_statement(), kind="manual", created_at=timezone.now()
        )
    line = _statement_line()
    return models.Break.objects.create(
        statement=line.statement,
        kind="bank_only",
        line=line,
        amount=line.amount,
        value_date=line.value_date,
    )


def _risk(label: str):
    """Risk's rows for the walk: a decision held for review, a version, a list, a control."""
    from risk import models as risk
    from risk.services import rule_set_draft, rule_set_ensure

    partner = partner_create(slug="risky", name="Risky")
    if label == "risk.ruleset":
        return rule_set_ensure(subject="transfer")
    if label == "risk.rulesetversion":
        return rule_set_draft(rule_set=rule_set_ensure(subject="transfer"))
    if label == "risk.risklist":
        return risk.RiskList.objects.create(name="watch")
    if label == "risk.backtest":
        return risk.Backtest.objects.create(
            version=rule_set_draft(rule_set=rule_set_ensure(subject="order")), days=3
        )
    if label == "risk.control":
        return risk.Control.objects.create(kind="kill_switch", partner=partner)
    decision = risk.Decision.objects.create(
        subject="transfer", subject_id=uuid.uuid4(), partner=partner, outcome="review"
    )
    if label == "risk.decision":
        return decision
    if label == "risk.reviewcase":
        return risk.ReviewCase.objects.create(
            decision=decision, subject="transfer", subject_id=decision.subject_id, partner=partner
        )
    return risk.RiskEvent.objects.create(
        kind="daily_volume", partner=partner, subject="trade", subject_id=uuid.uuid4()
    )


RISK_MODELS = (
    "risk.ruleset",
    "risk.rulesetversion",
    "risk.risklist",
    "risk.control",
    "risk.decision",
    "risk.reviewcase",
    "risk.riskevent",
    "risk.backtest",
)


def _make(label: str, boss: User):
    """An instance of `label` for the walk (a model in the console without a maker here
    fails the walk: add one)."""
    from django_celery_beat import models as beat

    makers = {
        "core.partner": lambda: partner_create(slug="gamma", name="Gamma"),
        "core.user": lambda: partner_user_create(
            partner=partner_create(slug="delta", name="Delta"), username="delta", password=PASSWORD
        ),
        "core.auditevent": lambda: audit_record(actor=boss, action="probe.done", target=boss),
        "core.idempotentrequest": lambda: IdempotentRequest.objects.create(
            partner=partner_create(slug="eps", name="Eps"),
            key="k",
            request_hash="h",
            created_at=timezone.now(),
        ),
        "core.jobrun": lambda: JobRun.objects.create(
            job="ledger.tasks.ledger_check", started_at=timezone.now()
        ),
        "ledger.account": lambda: _account_and_transfer()[1],
        "ledger.transfer": lambda: _account_and_transfer()[2],
        "ledger.adjustment": lambda: _adjustment(boss),
        "ledger.ledgercheckrun": lambda: LedgerCheckRun.objects.create(
            kind="invariants",
            started_at=timezone.now() - timedelta(seconds=2),
            finished_at=timezone.now(),
            ok=False,
            violations=[{"check": "probe"}],
        ),
        "axes.accessattempt": lambda: _access("AccessAttempt"),
        "axes.accesslog": lambda: _access("AccessLog"),
        "axes.accessfailurelog": lambda: _access("AccessFailureLog"),
        "django_celery_beat.periodictask": _periodic_task,
        "django_celery_beat.intervalschedule": lambda: beat.IntervalSchedule.objects.create(
            every=5, period="minutes"
        ),
        "django_celery_beat.crontabschedule": lambda: beat.CrontabSchedule.objects.create(
            minute="5"
        ),
        "django_celery_beat.solarschedule": lambda: beat.SolarSchedule.objects.create(
            event="sunrise", latitude=1, longitude=1
        ),
        "django_celery_beat.clockedschedule": lambda: beat.ClockedSchedule.objects.create(
            clocked_time=timezone.now()
        ),
        "auth.group": lambda: Group.objects.create(name="probe-group"),
        "trading.instrument": _instrument,
        "trading.order": lambda: _order(),
        "trading.trade": _trade,
        "trading.matcherstate": _matcher_state,
        **{
            f"settlement.{name}": functools.partial(_settlement, f"settlement.{name}")
            for name in (
                "settlementbatch",
                "obligation",
                "bankstatement",
                "statementline",
                "statementmatch",
                "break",
            )
        },
        **{model: (lambda m=model: _risk(m)) for model in RISK_MODELS},
    }
    assert label in makers, f"tests/core/test_role_matrix.py: add a maker for {label}"
    return makers[label]()


# --- The walk ------------------------------------------------------------------------------


def _member(group: str) -> User:
    user = User.objects.create_user(username=f"{group}-member", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _allowed(response) -> bool:
    """Refused is a 403, or a redirect to the login page; anything else got through."""
    if response.status_code == 403:
        return False
    return not (response.status_code == 302 and "/login/" in response["Location"])


def _pages(modeladmin, obj) -> list[tuple[str, str, str, set[str]]]:
    """(what, method, url, rights any one of which opens it) for the model's pages."""
    info = f"admin:{modeladmin.opts.app_label}_{modeladmin.opts.model_name}"
    one = [obj.pk]
    return [
        ("changelist", "get", reverse(f"{info}_changelist"), {"view", "change"}),
        ("add", "get", reverse(f"{info}_add"), {"add"}),
        ("change page", "get", reverse(f"{info}_change", args=one), {"view", "change"}),
        ("change", "post", reverse(f"{info}_change", args=one), {"change"}),
        ("delete", "get", reverse(f"{info}_delete", args=one), {"delete"}),
        ("history", "get", reverse(f"{info}_history", args=one), {"view", "change"}),
    ]


def _own_urls(modeladmin, obj) -> list[tuple[str, str, str, set[str]]]:
    """The admin's own URLs, each with the right it declares in `url_rights`."""
    rights = getattr(modeladmin, "url_rights", {})
    prefix = f"{modeladmin.opts.app_label}_{modeladmin.opts.model_name}_"
    found = []
    for pattern in modeladmin.get_urls():
        name = pattern.name
        if name is None or (name.startswith(prefix) and name[len(prefix) :] in STANDARD_URLS):
            continue
        assert name in rights, f"{type(modeladmin).__name__}.url_rights has no right for {name}"
        kwargs = {}
        for argument in pattern.pattern.converters:
            kwargs[argument] = jobs()[0].name if argument == "name" else obj.pk
        found.append((name, "post", reverse(f"admin:{name}", kwargs=kwargs), {rights[name]}))
    return found


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("label", CONSOLE_MODELS)
def test_each_group_reaches_exactly_what_the_table_gives_it(label, group):
    boss = User.objects.create_superuser(username="boss", password=PASSWORD)
    member = _member(group)
    rights = set(rights_of(group, label))
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    modeladmin = admin.site._registry[model]
    obj = _make(label, boss)
    as_boss, as_member = Client(), Client()
    as_boss.force_login(boss)
    as_member.force_login(member)

    for what, method, url, opening in _pages(modeladmin, obj) + _own_urls(modeladmin, obj):
        ceiling = _allowed(getattr(as_boss, method)(url))
        expected = ceiling and bool(opening & rights)
        got = _allowed(getattr(as_member, method)(url))
        assert got == expected, f"{group} {what} {label}: got {got}, table says {expected}"

    boss_actions = modeladmin.get_actions(_request(boss))
    member_actions = modeladmin.get_actions(_request(member))
    changelist = reverse(
        f"admin:{modeladmin.opts.app_label}_{modeladmin.opts.model_name}_changelist"
    )
    for name, (func, _, _) in boss_actions.items():
        needed = getattr(func, "allowed_permissions", None)
        assert needed, f"action {name} of {label} declares no right: give it one"
        for right in needed:
            assert right in ("view", "add", "change", "delete") or (
                modeladmin.opts.permissions
                and codename(label, right) in dict(modeladmin.opts.permissions)
            ), f"action {name} of {label} needs {right!r}, which is no permission of the model"
        expected = set(needed) <= rights
        assert (name in member_actions) == expected, f"{group} action {name} on {label}"
        fresh = Client()  # no message left over from the previous action's answer
        fresh.force_login(member)
        response = fresh.post(changelist, {"action": name, "_selected_action": [str(obj.pk)]})
        # Refused: forbidden, Django's "No action selected", or (with no action at all for
        # this member) the post is not read as an action and the list is shown.
        refused = (
            response.status_code == 403
            or not member_actions
            or any("No action selected" in str(m) for m in get_messages(response.wsgi_request))
        )
        assert refused != expected, f"{group} posting action {name} on {label}"


@pytest.mark.parametrize("label", CONSOLE_MODELS)
def test_no_console_page_nests_a_form_or_shows_a_template_comment(label):
    # A nested form is dropped by the browser: its button posts the page's own form (a 403
    # on a read-only page, or the wrong action), which no test client notices.
    boss = User.objects.create_superuser(username="boss", password=PASSWORD)
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    modeladmin = admin.site._registry[model]
    obj = _make(label, boss)
    as_boss = Client()
    as_boss.force_login(boss)
    for what, method, url, _ in _pages(modeladmin, obj):
        if method != "get":
            continue
        response = as_boss.get(url)
        if response.status_code != 200:
            continue
        page = response.content.decode()
        assert forms_opened_inside_a_form(page) == 0, f"{label} {what}: a form inside a form"
        assert "{#" not in page, f"{label} {what}: a template comment shown (one line only)"
