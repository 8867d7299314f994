"""Rule sets and their versions: a draft's rules are edited inline and compiled on save
(an invalid expression is refused with the error under it); published versions are read
only. Publishing (or publishing an older version again: a rollback) is an action; the test
box runs a version's rules over pasted facts."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ConsoleModelAdmin, ReadOnlyAdmin
from core.errors import ApplicationError
from ledger.admin.base import changelist_link, run_each
from risk.expressions import ExpressionInvalid, expression_compile
from risk.facts import FACTS_SCHEMA
from risk.models import Rule, RuleSet, RuleSetVersion
from risk.services import (
    rule_delete,
    rule_save,
    rule_set_draft,
    rule_set_publish,
    rule_set_thresholds_set,
)
from risk.services.backtest import backtest_request
from risk.services.preview import version_preview


class BacktestActionForm(helpers.ActionForm):
    days = forms.IntegerField(
        required=False, min_value=1, max_value=90, initial=7, label="Backtest over days:"
    )


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = (
            "position",
            "name",
            "expression",
            "outcome",
            "score",
            "reason_code",
            "on_error",
            "enabled",
        )
        widgets = {"expression": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def clean(self):
        cleaned = super().clean()
        version = self.instance.version if self.instance.version_id else None
        subject = version.rule_set.subject if version else None
        if subject and cleaned.get("expression"):
            try:
                expression_compile(source=cleaned["expression"], subject=subject)
            except ExpressionInvalid as exc:
                self.add_error("expression", str(exc))
        return cleaned


class RuleInline(admin.TabularInline):
    model = Rule
    form = RuleForm
    extra = 1
    fields = RuleForm.Meta.fields

    def _editable(self, request, obj) -> bool:
        return (
            obj is not None and obj.is_draft and request.user.has_perm("risk.change_rulesetversion")
        )

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("risk.view_rulesetversion")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if self._editable(request, obj) else 0


@admin.register(RuleSet)
class RuleSetAdmin(ReadOnlyAdmin):
    """Rule sets change through their versions ("Start a draft", then publish)."""

    list_display = ("subject", "live", "draft", "versions")
    readonly_fields = ("subject", "live", "draft", "versions")
    fields = readonly_fields
    actions = ["start_draft"]

    def label(self, rule_set) -> str:
        return str(rule_set)

    @admin.display(description="live version")
    def live(self, rule_set):
        version = rule_set.live_version
        if version is None:
            return "none (every subject is allowed)"
        url = reverse("admin:risk_rulesetversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.number)

    @admin.display(description="draft")
    def draft(self, rule_set):
        draft = rule_set.versions.filter(state=RuleSetVersion.State.DRAFT).first()
        if draft is None:
            return "-"
        url = reverse("admin:risk_rulesetversion_change", args=[draft.pk])
        return format_html('<a href="{}">v{} (draft)</a>', url, draft.number)

    @admin.display(description="versions")
    def versions(self, rule_set):
        text = f"{rule_set.versions.count()} version(s)"
        return changelist_link(RuleSetVersion, text, rule_set__id__exact=rule_set.pk)

    def has_draft_permission(self, request):
        return self.has_right(request, "draft")

    @admin.action(description="Start a draft (from the live version)", permissions=["draft"])
    def start_draft(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset),
            lambda s: rule_set_draft(rule_set=s, acting_user=request.user),
            done="Drafts ready",
        )


class VersionForm(forms.ModelForm):
    class Meta:
        model = RuleSetVersion
        fields = ("review_threshold", "reject_threshold", "note")


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(ConsoleModelAdmin):
    form = VersionForm
    inlines = [RuleInline]
    list_display = ("__str__", "state", "live", "rule_count", "published_at", "published_by")
    list_filter = ("rule_set", "state")
    list_select_related = ("rule_set", "published_by")
    actions = ["publish", "backtest"]
    action_form = BacktestActionForm
    url_rights = {"risk_rulesetversion_test": "view"}
    change_form_template = "admin/risk/rulesetversion/change_form.html"

    def has_add_permission(self, request):
        return False  # drafts come from a rule set's "Start a draft"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        base = ("rule_set", "number", "state", "published_at", "published_by", "facts_help")
        if obj is not None and not obj.is_draft:
            return (*base, "review_threshold", "reject_threshold", "note")
        return base

    def get_fields(self, request, obj=None):
        return (
            "rule_set",
            "number",
            "state",
            ("review_threshold", "reject_threshold"),
            "note",
            "published_at",
            "published_by",
            "facts_help",
        )

    def label(self, version) -> str:
        return str(version)

    @admin.display(description="live")
    def live(self, version):
        return "yes" if version.rule_set.live_version_id == version.pk else ""

    @admin.display(description="rules")
    def rule_count(self, version):
        return version.rules.count()

    @admin.display(description="facts a rule may read")
    def facts_help(self, version):
        if version is None or version.pk is None:
            return "-"
        schema = FACTS_SCHEMA[version.rule_set.subject]
        return ", ".join(f"{name} ({kind})" for name, kind in sorted(schema.items()))

    def save_model(self, request, obj, form, change):
        if obj.is_draft and form.has_changed():
            rule_set_thresholds_set(
                version=obj,
                review_threshold=form.cleaned_data["review_threshold"],
                reject_threshold=form.cleaned_data["reject_threshold"],
                acting_user=request.user,
            )

    def save_formset(self, request, form, formset, change):
        rules = formset.save(commit=False)
        for rule in formset.deleted_objects:
            rule_delete(rule=rule, acting_user=request.user)
        for rule in rules:
            rule.version = form.instance
            rule_save(rule=rule, acting_user=request.user)

    def has_publish_permission(self, request):
        return self.has_right(request, "publish")

    @admin.action(
        description="Publish (live everywhere within 2 s; an older one: roll back)",
        permissions=["publish"],
    )
    def publish(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset.select_related("rule_set")),
            lambda v: rule_set_publish(version=v, acting_user=request.user),
            done="Published",
        )

    @admin.action(description="Backtest over the last N days of decisions", permissions=["change"])
    def backtest(self, request, queryset):
        try:
            days = int(request.POST.get("days") or 7)
        except ValueError:
            days = 7
        for version in queryset.select_related("rule_set"):
            backtest = backtest_request(version=version, days=days, acting_user=request.user)
            url = reverse("admin:risk_backtest_change", args=[backtest.pk])
            messages.success(
                request,
                format_html('Backtest of {} queued: <a href="{}">its result</a>.', version, url),
            )

    # --- The test box ---------------------------------------------------------------------

    def get_urls(self):
        test = path(
            "<path:object_id>/test/",
            self.admin_site.admin_view(self.test_view),
            name="risk_rulesetversion_test",
        )
        return [test, *super().get_urls()]

    def test_view(self, request, object_id):
        version = self.get_object(request, object_id)
        if version is None or not self.has_view_permission(request, version):
            raise PermissionDenied
        pasted = request.POST.get("facts", "") if request.method == "POST" else ""
        result, error, kept = None, "", {}
        if pasted:
            try:
                facts = json.loads(pasted)
                if not isinstance(facts, dict):
                    raise ValueError("paste a JSON object")
                result, kept = version_preview(version=version, facts=facts)
            except (ValueError, ApplicationError) as exc:
                error = f"Not usable facts: {exc}"
        example = {
            name: {"int": 0, "string": "", "bool": False, "list": []}[kind]
            for name, kind in sorted(FACTS_SCHEMA[version.rule_set.subject].items())
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": version,
            "title": f"Test {version}",
            "pasted": pasted or json.dumps(example, indent=1),
            "result": result,
            "kept": json.dumps(kept, indent=1) if kept else "",
            "error": error,
        }
        if error:
            messages.error(request, error)
        return TemplateResponse(request, "admin/risk/rulesetversion/test.html", context)
