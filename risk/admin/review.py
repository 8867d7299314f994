"""The review queue: held orders and transfers, oldest first. "Claim next" hands the oldest
unclaimed case to the one who asks (never the same to two people); approve or reject with a
reason (a confirmation step); notes on the case page. Every step is audited."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from ledger.admin.base import confirmation_page, money, run_each, timestamp
from ledger.selectors import assets_by_code
from risk.models import ReviewCase
from risk.services import review_approve, review_claim_next, review_note, review_reject


def age(moment) -> str:
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86_400} d {seconds % 86_400 // 3600} h"


@admin.register(ReviewCase)
class ReviewCaseAdmin(ReadOnlyAdmin):
    list_display = (
        "created",
        "waiting_for",
        "state",
        "subject",
        "partner",
        "amount",
        "reasons",
        "claimed_by",
        "decided_by",
    )
    list_filter = ("state", "subject")
    list_select_related = ("partner", "decision", "claimed_by", "decided_by")
    search_fields = ("=subject_id", "partner__slug", "reason", "notes")
    ordering = ("created_at", "id")
    actions = ["approve", "reject"]
    url_rights = {"risk_reviewcase_claim": "work", "risk_reviewcase_note": "work"}
    change_form_template = "admin/risk/reviewcase/change_form.html"
    change_list_template = "admin/risk/reviewcase/change_list.html"
    fields = (
        "state",
        "subject",
        "subject_link",
        "partner",
        "amount",
        "reasons",
        "hits",
        "facts",
        "created_at",
        "claimed_by",
        "claimed_at",
        "decided_by",
        "decided_at",
        "reason",
        "notes",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "GET" and not request.GET:
            # The queue by default: what still waits.
            return HttpResponseRedirect(request.path + "?state__in=open,claimed")
        waiting = ReviewCase.objects.filter(state__in=["open", "claimed"])
        extra_context = {
            **(extra_context or {}),
            "can_work": self.has_right(request, "work"),
            "open_count": waiting.filter(state="open").count(),
        }
        return super().changelist_view(request, extra_context)

    def label(self, case) -> str:
        reasons = ", ".join(case.decision.reasons)
        return f"{case.subject} {case.subject_id} of {case.partner} ({reasons})"

    @admin.display(description="held (UTC)", ordering="created_at")
    def created(self, case):
        return timestamp(case.created_at)

    @admin.display(description="waiting")
    def waiting_for(self, case):
        return age(case.created_at) if case.waiting else "-"

    @admin.display(description="amount")
    def amount(self, case):
        facts = case.decision.facts
        asset = assets_by_code(codes=[facts.get("asset")]).get(facts.get("asset"))
        if asset is None or not isinstance(facts.get("amount"), int):
            return "-"
        return f"{money(facts['amount'], asset)} {asset.code}"

    @admin.display(description="reasons")
    def reasons(self, case):
        return ", ".join(case.decision.reasons) or "-"

    @admin.display(description="rule hits (values seen)")
    def hits(self, case):
        return format_html("<pre>{}</pre>", json.dumps(case.decision.hits, indent=1))

    @admin.display(description="facts")
    def facts(self, case):
        return format_html(
            "<pre>{}</pre>", json.dumps(case.decision.facts, indent=1, sort_keys=True)
        )

    @admin.display(description="held item")
    def subject_link(self, case):
        name = "ledger_transfer" if case.subject == "transfer" else "trading_order"
        url = reverse(f"admin:{name}_change", args=[case.subject_id])
        return format_html('<a href="{}">{} {}</a>', url, case.subject, case.subject_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_work": self.has_right(request, "work") and case is not None and case.waiting,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Claim, note ----------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "claim/", self.admin_site.admin_view(self.claim_view), name="risk_reviewcase_claim"
            ),
            path(
                "<path:object_id>/note/",
                self.admin_site.admin_view(self.note_view),
                name="risk_reviewcase_note",
            ),
            *super().get_urls(),
        ]

    def claim_view(self, request):
        if not self.has_right(request, "work"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = review_claim_next(acting_user=request.user)
        if case is None:
            messages.info(request, "Nothing waits for review.")
            return HttpResponseRedirect(reverse("admin:risk_reviewcase_changelist"))
        messages.success(request, f"Claimed: {self.label(case)}.")
        return HttpResponseRedirect(reverse("admin:risk_reviewcase_change", args=[case.pk]))

    def note_view(self, request, object_id):
        if not self.has_right(request, "work"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self.get_object(request, object_id)
        if case is None:
            raise PermissionDenied
        note = request.POST.get("note", "").strip()
        if note:
            review_note(case=case, acting_user=request.user, note=note[:2000])
            messages.success(request, "Note added.")
        return HttpResponseRedirect(reverse("admin:risk_reviewcase_change", args=[case.pk]))

    # --- Approve, reject ------------------------------------------------------------------

    def has_work_permission(self, request):
        return self.has_right(request, "work")

    @admin.action(
        description="Approve (the order goes to the book, the transfer posts)", permissions=["work"]
    )
    def approve(self, request, queryset):
        return self._decide(request, queryset, approve=True)

    @admin.action(description="Reject (releases what it holds)", permissions=["work"])
    def reject(self, request, queryset):
        return self._decide(request, queryset, approve=False)

    def _decide(self, request, queryset, *, approve: bool):
        cases = list(queryset.select_related("decision", "partner"))
        confirm = confirmation_page(
            self,
            request,
            cases,
            action="approve" if approve else "reject",
            question="Approve these held items? Each goes on at once."
            if approve
            else "Reject these held items? What each holds is released.",
            button="Yes, approve" if approve else "Yes, reject",
        )
        if confirm is not None:
            return confirm
        reason = request.POST["reason"].strip()
        service = review_approve if approve else review_reject
        run_each(
            self,
            request,
            cases,
            lambda case: service(case=case, acting_user=request.user, reason=reason),
            done="Approved" if approve else "Rejected",
        )
        return None
