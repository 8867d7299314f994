"""The ledger's part of a partner's console page: its accounts and balances, open holds,
recent transfers, and the audit trail of the partner, its users and its accounts."""

from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.admin_site import register_partner_section
from core.audit_display import audit_changes_text, audit_targets_label
from core.models import AuditEvent
from ledger.admin.base import admin_link, money, timestamp
from ledger.models import Account, Transfer

RECENT = 20  # rows per table; each links to the full list


@register_partner_section
def ledger_partner_section(request, partner) -> str:
    accounts = list(
        Account.objects.filter(partner=partner).select_related("asset").order_by("asset", "code")
    )
    touching = Q(debit_account__partner=partner) | Q(credit_account__partner=partner)
    transfers = Transfer.objects.filter(touching).select_related(
        "asset", "debit_account__partner", "credit_account__partner"
    )
    holds = transfers.filter(kind=Transfer.Kind.PENDING, status=Transfer.Status.PENDING)
    journal = reverse("admin:ledger_transfer_changelist")
    context = {
        "partner": partner,
        "accounts": [_account_row(account) for account in accounts],
        "holds": [_transfer_row(t) for t in holds.order_by("-created_at", "-id")[:RECENT]],
        "holds_count": holds.count(),
        "holds_url": f"{journal}?partner={partner.pk}&hold=open",
        "transfers": [_transfer_row(t) for t in transfers.order_by("-created_at", "-id")[:RECENT]],
        "transfers_url": f"{journal}?partner={partner.pk}",
        "events": _audit_trail(partner, accounts),
        "audit_url": reverse("admin:core_auditevent_changelist"),
        "recent": RECENT,
    }
    return render_to_string("admin/ledger/partner_section.html", context, request=request)


def _account_row(account) -> dict:
    return {
        "link": admin_link(account),
        "status": account.status,
        "posted": money(account.posted_balance, account.asset),
        "held": money(account.pending_balance, account.asset),
        "available": money(account.available_balance, account.asset),
    }


def _transfer_row(transfer) -> dict:
    overdue = transfer.expires_at is not None and transfer.expires_at <= timezone.now()
    return {
        "link": admin_link(transfer, f"{transfer.get_kind_display()} · {str(transfer.pk)[:8]}"),
        "created": timestamp(transfer.created_at),
        "status": "pending, overdue"
        if overdue and transfer.status == Transfer.Status.PENDING
        else transfer.status,
        "debit": admin_link(transfer.debit_account),
        "credit": admin_link(transfer.credit_account),
        "amount": f"{money(transfer.amount, transfer.asset)} {transfer.asset_id}",
        "reference": transfer.reference,
        "expires": timestamp(transfer.expires_at) if transfer.expires_at else "",
    }


def _audit_trail(partner, accounts) -> list[dict]:
    user_ids = [str(pk) for pk in partner.users.values_list("pk", flat=True)]
    events = list(
        AuditEvent.objects.filter(
            Q(target_type="core.partner", target_id=str(partner.pk))
            | Q(target_type="core.user", target_id__in=user_ids)
            | Q(target_type="ledger.account", target_id__in=[str(a.pk) for a in accounts])
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:RECENT]
    )
    audit_targets_label(events)
    return [
        {
            "created": timestamp(event.created_at),
            "actor": event.actor.username if event.actor_id else "system",
            "action": event.action,
            "target": event.target_label,
            "changes": audit_changes_text(event),
            "link": admin_link(event, "details"),
        }
        for event in events
    ]
