"""The back office's roles as Django groups: ONE table of who may do what in the console.

Each row is a model, each column a group, each cell the rights that group has on it:
view/add/change/delete, or a right of the model's own (`Meta.permissions`, codename
`<right>_<model>`), which the console's actions and pages ask for by that name. A model
missing from the table gives no group anything; tests/core/test_role_matrix.py fails when a
model in the console is missing here, and walks every page and action of every group
against this table. docs/operations.md shows the same table.

Only a superuser manages people and rights: no group may ever hold a right on users beyond
viewing them and revoking their sessions, nor any right on groups or permissions beyond
viewing (`ESCALATING_RIGHTS`; staff_groups_sync refuses a table that grants one).
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

GROUPS = ("operations", "risk", "settlement", "auditor")
VIEW = ("view",)

ROLE_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    # Partners and access
    "core.partner": {
        "operations": ("view", "add", "change"),
        "risk": VIEW,
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "core.user": {"operations": ("view", "revoke_sessions"), "risk": VIEW, "auditor": VIEW},
    "core.auditevent": {"operations": VIEW, "risk": VIEW, "settlement": VIEW, "auditor": VIEW},
    "core.idempotentrequest": {"operations": VIEW, "auditor": VIEW},
    "core.jobrun": {"operations": ("view", "run"), "settlement": VIEW, "auditor": VIEW},
    # Ledger
    "ledger.account": {
        "operations": ("view", "freeze", "close"),
        "risk": ("view", "freeze"),  # a suspicion is reason enough to stop the money
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "ledger.transfer": {
        "operations": ("view", "reverse"),
        "risk": VIEW,
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "ledger.adjustment": {
        "operations": ("view", "add", "decide"),  # four-eyes: never one's own proposal
        "risk": VIEW,
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "ledger.ledgercheckrun": {
        "operations": ("view", "acknowledge"),
        "settlement": VIEW,
        "auditor": VIEW,
    },
    # Trading
    "trading.instrument": {
        "operations": ("view", "halt"),
        "risk": ("view", "halt"),  # as with accounts: a suspicion is reason enough to stop
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "trading.order": {
        "operations": ("view", "cancel"),
        "risk": ("view", "cancel"),
        "settlement": VIEW,
        "auditor": VIEW,
    },
    "trading.trade": {"operations": VIEW, "risk": VIEW, "settlement": VIEW, "auditor": VIEW},
    "trading.matcherstate": {"operations": VIEW, "settlement": VIEW, "auditor": VIEW},
    # Settlement: its group runs batches, imports statements and resolves breaks
    "settlement.settlementbatch": {
        "operations": VIEW,
        "risk": VIEW,
        "settlement": ("view", "run"),
        "auditor": VIEW,
    },
    "settlement.obligation": {"operations": VIEW, "settlement": VIEW, "auditor": VIEW},
    "settlement.bankstatement": {
        "operations": VIEW,
        "settlement": ("view", "import"),
        "auditor": VIEW,
    },
    "settlement.statementline": {"operations": VIEW, "settlement": VIEW, "auditor": VIEW},
    "settlement.statementmatch": {"operations": VIEW, "settlement": VIEW, "auditor": VIEW},
    "settlement.break": {
        "operations": VIEW,
        "settlement": ("view", "resolve"),  # a correcting adjustment still needs four eyes
        "auditor": VIEW,
    },
    # Risk: the risk group writes the rules, lists and controls and works the queue;
    # operations and auditors see it all, change none of it.
    "risk.ruleset": {"operations": VIEW, "risk": ("view", "draft"), "auditor": VIEW},
    "risk.rulesetversion": {
        "operations": VIEW,
        "risk": ("view", "change", "publish"),
        "auditor": VIEW,
    },
    "risk.risklist": {
        "operations": VIEW,
        "risk": ("view", "add", "change", "delete"),
        "auditor": VIEW,
    },
    "risk.risklistentry": {  # edited inline on its list's page
        "operations": VIEW,
        "risk": ("view", "add", "change", "delete"),
        "auditor": VIEW,
    },
    "risk.control": {
        "operations": VIEW,
        "risk": ("view", "add", "change", "delete"),
        "auditor": VIEW,
    },
    "risk.decision": {"operations": VIEW, "risk": VIEW, "auditor": VIEW},
    "risk.backtest": {"operations": VIEW, "risk": VIEW, "auditor": VIEW},
    "risk.reviewcase": {"operations": VIEW, "risk": ("view", "work"), "auditor": VIEW},
    "risk.riskevent": {"operations": VIEW, "risk": ("view", "acknowledge"), "auditor": VIEW},
    # Framework: login lockouts (operations lift them), schedules (superusers edit them)
    "axes.accessattempt": {"operations": ("view", "delete"), "auditor": VIEW},
    "axes.accesslog": {"operations": VIEW, "auditor": VIEW},
    "axes.accessfailurelog": {"operations": VIEW, "auditor": VIEW},
    "django_celery_beat.periodictask": {"operations": VIEW, "settlement": VIEW, "auditor": VIEW},
    "django_celery_beat.intervalschedule": {"operations": VIEW, "auditor": VIEW},
    "django_celery_beat.crontabschedule": {"operations": VIEW, "auditor": VIEW},
    "django_celery_beat.solarschedule": {"operations": VIEW, "auditor": VIEW},
    "django_celery_beat.clockedschedule": {"operations": VIEW, "auditor": VIEW},
    "auth.group": {"auditor": VIEW},
}

# Rights that would let a group make or change people or rights: superusers only.
ESCALATING_RIGHTS = {
    "core.user": {"add", "change", "delete"},
    "auth.group": {"add", "change", "delete"},
    "auth.permission": {"add", "change", "delete", "view"},
}


def rights_of(group: str, model_label: str) -> tuple[str, ...]:
    return ROLE_TABLE.get(model_label, {}).get(group, ())


def codename(model_label: str, right: str) -> str:
    return f"{right}_{model_label.split('.')[1]}"


def role_table_escalations() -> list[str]:
    """Cells of the table that grant a right only superusers may hold (should be none)."""
    return [
        f"{group}: {right} on {model}"
        for model, forbidden in ESCALATING_RIGHTS.items()
        for group, rights in ROLE_TABLE.get(model, {}).items()
        for right in rights
        if right in forbidden
    ]


def role_table_permissions(group: str) -> Q:
    """The Permission rows the table gives `group`."""
    condition = Q(pk__in=[])
    for model, cells in ROLE_TABLE.items():
        app_label, model_name = model.split(".")
        codenames = [codename(model, right) for right in cells.get(group, ())]
        if codenames:
            condition |= Q(
                content_type__app_label=app_label,
                content_type__model=model_name,
                codename__in=codenames,
            )
    return condition


def role_table_missing_permissions() -> list[str]:
    """Rights of the table with no Permission row (a typo, or a model not migrated yet)."""
    existing = set(
        Permission.objects.values_list("content_type__app_label", "content_type__model", "codename")
    )
    return sorted(
        f"{model}: {right}"
        for model, cells in ROLE_TABLE.items()
        for rights in cells.values()
        for right in rights
        if (*model.split("."), codename(model, right)) not in existing
    )


def staff_groups_sync() -> None:
    """Create the staff groups and give each exactly the table's rights (idempotent: rights
    given to a group by hand are taken away again)."""
    escalations = role_table_escalations()
    if escalations:
        raise ValueError(f"The role table grants superuser-only rights: {escalations}")
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(role_table_permissions(name)))


def role_table_markdown() -> str:
    """The table as docs/operations.md shows it (a test keeps the two the same)."""
    lines = [
        "| model | " + " | ".join(GROUPS) + " |",
        "|---|" + "---|" * len(GROUPS),
    ]
    for model, cells in ROLE_TABLE.items():
        row = [", ".join(cells.get(group, ())) or "-" for group in GROUPS]
        lines.append(f"| `{model}` | " + " | ".join(row) + " |")
    return "\n".join(lines)
