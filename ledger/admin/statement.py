"""An account's statement on its console page: a period (business dates), its opening and
closing balances, and lines that say what each did to the posted and to the held money."""

from django.conf import settings
from django.urls import reverse
from rest_framework.exceptions import ValidationError

from core.api.fields import PeriodBoundField
from ledger.admin.base import money
from ledger.services import pending_transfers_expire
from ledger.statements import Period, statement_balances, statement_entries, statement_line


def statement_period(params) -> tuple[Period, list[str]]:
    """`from` / `to` of the query string (dates or instants, as the API takes them)."""
    bounds, errors = {}, []
    for name, end in (("from", False), ("to", True)):
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            bounds[name] = PeriodBoundField(end=end).to_internal_value(raw)
        except ValidationError:
            errors.append(f"{name}: give a date (2026-11-30) or an instant.")
    period = Period(start=bounds.get("from"), end=bounds.get("to"))
    if period.start and period.end and period.end <= period.start:
        errors.append("to: must not be before from.")
    return (Period() if errors else period), errors


def statement_context(request, account, *, lines: int) -> dict:
    period, errors = statement_period(request.GET)
    pending_transfers_expire(accounts=[account])  # lapsed holds: as the API's statement does
    asset = account.asset
    entries = statement_entries(account=account, period=period)
    balances = statement_balances(account=account, period=period)

    def signed(minor):
        text = money(minor, asset)
        return f"+{text}" if minor > 0 else text

    rows = []
    for entry in entries[:lines]:
        line = statement_line(entry, account=account)
        outcome = ""
        if line.hold_posted:
            outcome = f"posted {money(line.hold_posted, asset)}"
            if line.hold_released:
                outcome += f", released {money(line.hold_released, asset)}"
        elif line.hold_released:
            outcome = f"released {money(line.hold_released, asset)}"
        rows.append(
            {
                "entry": entry,
                "transfer": line.transfer,
                "kind": line.transfer.get_kind_display(),
                "status": line.transfer.status,
                "outcome": outcome,
                "amount": money(line.transfer.amount, asset),
                "posted_delta": signed(line.posted_delta) if line.posted_delta else "",
                "held_delta": signed(line.held_delta) if line.held_delta else "",
                "posted_balance": money(line.posted_balance, asset),
                "pending_balance": money(line.held_balance, asset),
            }
        )
    count = entries.count()
    filtered = period.start is not None or period.end is not None
    csv_url = reverse("admin:ledger_account_statement_csv", args=[account.pk])
    query = request.GET.urlencode()
    return {
        "statement": rows,
        "statement_count": count,
        "transfer_count": account.entries.count() if filtered else count,  # one entry each
        "statement_limit": lines,
        "statement_errors": errors,
        "statement_from": request.GET.get("from", ""),
        "statement_to": request.GET.get("to", ""),
        "statement_filtered": filtered,
        "opening": {
            "posted": money(balances.opening.posted, asset),
            "held": money(balances.opening.pending, asset),
        },
        "closing": {
            "posted": money(balances.closing.posted, asset),
            "held": money(balances.closing.pending, asset),
        },
        "business_time_zone": settings.BUSINESS_TIME_ZONE,
        "statement_csv_url": f"{csv_url}?{query}" if query else csv_url,
        "journal_url": f"{reverse('admin:ledger_transfer_changelist')}?account={account.pk}",
    }
