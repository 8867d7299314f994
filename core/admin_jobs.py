"""Scheduled jobs in the console: each job's schedule, last run and result, its run history,
and "run now" (for staff with the `run` right on job runs)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince

from core.admin import ReadOnlyAdmin
from core.admin_site import register_dashboard_tile
from core.errors import ApplicationError
from core.jobs import job_run_now, jobs, latest_runs
from core.models import JobRun


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    change_list_template = "admin/core/jobrun/change_list.html"
    list_display = ("started_at", "job", "outcome", "duration", "result_short", "trace_id")
    list_filter = ("outcome", "job")
    fields = ("job", "task_id", "started_at", "finished_at", "outcome", "result", "trace_id")
    url_rights = {"core_jobrun_run": "run"}

    @admin.display(description="took")
    def duration(self, run):
        if run.finished_at is None:
            return "-"
        return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"

    @admin.display(description="result")
    def result_short(self, run):
        return run.result[:80]

    def get_urls(self):
        run = self.admin_site.admin_view(self.run_view)
        return [path("run/<str:name>/", run, name="core_jobrun_run"), *super().get_urls()]

    def run_view(self, request, name):
        if not self.has_right(request, "run"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            run = job_run_now(
                name=name, acting_user=request.user, reason=request.POST.get("reason", "")
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            level = messages.ERROR if run.outcome == JobRun.Outcome.FAILED else messages.SUCCESS
            self.message_user(request, f"Ran {name}: {run.outcome} ({run.result})", level)
        return HttpResponseRedirect(reverse("admin:core_jobrun_changelist"))

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "jobs": job_rows(),
            "can_run": self.has_right(request, "run"),
        }
        return super().changelist_view(request, extra_context)


def job_rows() -> list[dict]:
    latest = latest_runs()
    return [{"job": job, "last": latest.get(job.task)} for job in jobs()]


@register_dashboard_tile("Scheduled jobs")
def _jobs_tile(request):
    """Red when a job's latest run failed; amber when one never ran (no scheduler?)."""
    rows = job_rows()
    failed = [row["job"].name for row in rows if row["last"] and row["last"].outcome == "failed"]
    never = [row["job"].name for row in rows if row["last"] is None]
    tile = {"title": "Scheduled jobs", "url": "core/jobrun/"}
    if failed:
        return {
            **tile,
            "value": f"{len(failed)} failed",
            "hint": ", ".join(failed),
            "status": "alert",
        }
    if never:
        return {
            **tile,
            "value": f"{len(never)} never run",
            "hint": ", ".join(never),
            "status": "warn",
        }
    newest = max(row["last"].started_at for row in rows)
    return {
        **tile,
        "value": "OK",
        "status": "ok",
        "hint": f"{len(rows)} jobs; last run {timesince(newest, timezone.now())} ago",
    }
