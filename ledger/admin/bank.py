"""The guided bank deposit / withdrawal: staff pick the partner's account and the direction,
and the form says which side is the firm's bank. It files an ordinary adjustment proposal,
which a second staff member approves as any other."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import ApplicationError
from core.money import staff_amount_to_minor_units
from ledger.adjustments import adjustment_bank_movement_propose
from ledger.models import Account

DIRECTIONS = [
    (
        "deposit",
        "Deposit: the money has arrived at our bank for the partner "
        "(debit house/…/settlement_bank, credit the partner's account)",
    ),
    (
        "withdrawal",
        "Withdrawal: the money leaves our bank to the partner "
        "(debit the partner's account, credit house/…/settlement_bank)",
    ),
]


class PartnerAccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, account):
        return f"{account} ({account.partner.name})"


class BankMovementForm(forms.Form):
    account = PartnerAccountChoice(
        queryset=Account.objects.filter(partner__isnull=False, status=Account.Status.OPEN)
        .select_related("partner", "asset")
        .order_by("partner__slug", "asset", "code"),
        help_text="The partner's account the money is for (open accounts only).",
    )
    direction = forms.ChoiceField(choices=DIRECTIONS, widget=forms.RadioSelect)
    amount = forms.CharField(
        max_length=40, help_text="In the account's asset, e.g. 5,000.00 or 5000.00."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The bank's reference and why (goes into the audit log).",
    )

    def clean(self):
        cleaned = super().clean()
        account = cleaned.get("account")
        if account is not None and cleaned.get("amount"):
            try:
                cleaned["minor_amount"] = staff_amount_to_minor_units(
                    cleaned["amount"], scale=account.asset.scale
                )
            except ApplicationError as exc:
                self.add_error("amount", exc.message)
        return cleaned


def bank_movement_view(modeladmin, request):
    if not modeladmin.has_add_permission(request):
        raise PermissionDenied
    form = BankMovementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            adjustment = adjustment_bank_movement_propose(
                account=data["account"],
                direction=data["direction"],
                amount=data["minor_amount"],
                reason=data["reason"],
                acting_user=request.user,
            )
        except ApplicationError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
        else:
            modeladmin.message_user(
                request,
                f"{data['direction'].capitalize()} proposed: a second staff member approves it.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:ledger_adjustment_change", args=[adjustment.pk])
            )
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Bank deposit or withdrawal",
        "form": form,
        "opts": modeladmin.opts,
    }
    return TemplateResponse(request, "admin/ledger/adjustment/bank_movement.html", context)
