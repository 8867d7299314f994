"""Manual adjustments under four-eyes control: one staff member proposes here, another
approves (which posts the transfer through the ledger's service) or rejects."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html
from django.utils.text import Truncator

from core.errors import ApplicationError
from core.money import staff_amount_to_minor_units
from ledger.adjustments import (
    adjustment_approve,
    adjustment_four_eyes_check,
    adjustment_propose,
    adjustment_reject,
    adjustment_validate,
)
from ledger.admin.bank import bank_movement_view
from ledger.admin.base import (
    AccountLabelSearchMixin,
    ReadOnlyLedgerAdmin,
    admin_link,
    confirmation_page,
    money,
    parse_uuid,
    run_each,
    timestamp,
)
from ledger.errors import FourEyesViolation
from ledger.models import Adjustment
from ledger.posting import TRANSFER_CODE_PATTERN

REASON_CHARS = 40  # in the list; the full reason is in the tooltip and on the page


class AdjustmentProposeForm(forms.ModelForm):
    amount = forms.CharField(
        max_length=40,
        help_text="A decimal in the account's asset, e.g. 1,500.50 or 1500.50 (no more "
        "decimals than the asset has).",
    )
    code = forms.RegexField(
        TRANSFER_CODE_PATTERN,
        max_length=64,
        initial="adjustment",
        help_text="Why, as on transfers: lowercase letters, digits, '.', '_' or '-' "
        "(deposit, fee_refund...).",
    )

    class Meta:
        model = Adjustment
        fields = ("debit_account", "credit_account", "amount", "code", "reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:  # the account pickers cannot redraw a value that is not an id
            data = self.data.copy()
            for name in ("debit_account", "credit_account"):
                if data.get(name) and parse_uuid(data[name]) is None:
                    data[name] = ""
            self.data = data

    def clean(self):
        cleaned = super().clean()
        debit, credit = cleaned.get("debit_account"), cleaned.get("credit_account")
        if not (debit and credit):
            if "amount" in cleaned:  # read in the accounts' asset, so not without them
                del cleaned["amount"]
                self.add_error("amount", "Choose both accounts: the amount is in their asset.")
            return cleaned
        amount = None
        if cleaned.get("amount") is not None:
            try:
                amount = cleaned["amount"] = staff_amount_to_minor_units(
                    cleaned["amount"], scale=debit.asset.scale
                )
            except ApplicationError as exc:
                self.add_error("amount", exc.message)
        try:
            adjustment_validate(
                debit_account=debit,
                credit_account=credit,
                amount=amount,
                reason=cleaned.get("reason"),
            )
        except ApplicationError as exc:
            for field, messages_ in exc.details.items():
                if field in self.fields:
                    self.add_error(field, messages_)
        return cleaned


@admin.register(Adjustment)
class AdjustmentAdmin(AccountLabelSearchMixin, ReadOnlyLedgerAdmin):
    """Staff propose here; a different staff member approves (posting) or rejects."""

    form = AdjustmentProposeForm
    list_display = (
        "proposed",
        "state",
        "amount_display",
        "debit",
        "credit",
        "code",
        "proposed_by",
        "decided_by",
        "reason_short",
    )
    list_display_links = ("proposed",)
    list_filter = ("state", "code")
    list_select_related = (
        "debit_account__partner",
        "debit_account__asset",
        "credit_account__partner",
        "proposed_by",
        "decided_by",
    )
    search_fields = (
        "id",
        "reason",
        "debit_account__partner__slug",
        "debit_account__partner__name",
        "credit_account__partner__slug",
        "credit_account__partner__name",
    )
    account_label_prefixes = ("debit_account__", "credit_account__")
    autocomplete_fields = ("debit_account", "credit_account")
    actions = ["approve", "reject"]
    view_fields = (
        "id",
        "state",
        "debit_account",
        "credit_account",
        "amount_display",
        "code",
        "reason",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "reverses",
        "transfer",
    )

    def has_add_permission(self, request):  # proposing is the one thing staff add here
        return request.user.has_perm("ledger.add_adjustment")

    def get_fields(self, request, obj=None):
        return self.view_fields if obj is not None else AdjustmentProposeForm.Meta.fields

    def get_readonly_fields(self, request, obj=None):
        return self.view_fields if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="proposed (UTC)", ordering="proposed_at")
    def proposed(self, adjustment):
        return timestamp(adjustment.proposed_at)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, adjustment):
        asset = adjustment.debit_account.asset
        return f"{money(adjustment.amount, asset)} {asset.code}"

    @admin.display(description="debit account")
    def debit(self, adjustment):
        return admin_link(adjustment.debit_account)

    @admin.display(description="credit account")
    def credit(self, adjustment):
        return admin_link(adjustment.credit_account)

    @admin.display(description="reason")
    def reason_short(self, adjustment):
        short = Truncator(adjustment.reason).chars(REASON_CHARS)
        return format_html('<span title="{}">{}</span>', adjustment.reason, short)

    def label(self, adjustment) -> str:
        amount = money(adjustment.amount, adjustment.debit_account.asset)
        return (
            f"{amount} {adjustment.debit_account.asset_id} {adjustment.debit_account} → "
            f"{adjustment.credit_account} ({adjustment.code}, proposed by "
            f"{adjustment.proposed_by}: {adjustment.reason})"
        )

    url_rights = {"ledger_adjustment_bank": "add"}

    def get_urls(self):
        bank = path(
            "bank/",
            self.admin_site.admin_view(lambda request: bank_movement_view(self, request)),
            name="ledger_adjustment_bank",
        )
        return [bank, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Approve / Reject on the page post to the list's actions (their confirmation step).
        adjustment = self.get_object(request, object_id)
        decide = adjustment is not None and adjustment.state == Adjustment.State.PROPOSED
        extra_context = {
            **(extra_context or {}),
            "can_decide": decide and self.has_decide_permission(request),
            "own_proposal": adjustment is not None and adjustment.proposed_by_id == request.user.pk,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ApplicationError as exc:  # the service refused what the form let through
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        adjustment = adjustment_propose(
            debit_account=form.cleaned_data["debit_account"],
            credit_account=form.cleaned_data["credit_account"],
            amount=form.cleaned_data["amount"],
            code=form.cleaned_data["code"],
            reason=form.cleaned_data["reason"],
            acting_user=request.user,
        )
        # The admin goes on with `obj` (history entry, redirect): make it the proposed row.
        for field in Adjustment._meta.concrete_fields:
            setattr(obj, field.attname, getattr(adjustment, field.attname))
        obj._state.adding, obj._state.db = False, adjustment._state.db

    def save_related(self, request, form, formsets, change):
        pass  # no relations beyond the foreign keys the service has written

    def has_decide_permission(self, request):
        return self.has_right(request, "decide")

    @admin.action(description="Approve (posts the transfer)", permissions=["decide"])
    def approve(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="approve",
            question="Approve and post these adjustments? Each posts its transfer at once.",
            button="Yes, approve and post",
            service=adjustment_approve,
            done="Adjustments approved and posted",
        )

    @admin.action(description="Reject", permissions=["decide"])
    def reject(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="reject",
            question="Reject these adjustments? A rejected adjustment can never be posted.",
            button="Yes, reject them",
            service=adjustment_reject,
            done="Adjustments rejected",
        )

    def _decide(self, request, queryset, *, action, question, button, service, done):
        adjustments = list(queryset)
        refusals = []
        for adjustment in adjustments:
            try:
                adjustment_four_eyes_check(adjustment=adjustment, acting_user=request.user)
            except FourEyesViolation as exc:
                refusals.append(exc)
        if adjustments and len(refusals) == len(adjustments):
            # Nothing the user could confirm would succeed: say why at once.
            self.message_user(request, refusals[0].message, messages.ERROR)
            return None
        confirm = confirmation_page(
            self, request, adjustments, action=action, question=question, button=button
        )
        if confirm is not None:
            return confirm
        reason = request.POST["reason"].strip()
        run_each(
            self,
            request,
            adjustments,
            lambda a: service(adjustment=a, acting_user=request.user, reason=reason),
            done=done,
        )
        return None
