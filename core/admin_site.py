"""The operations console: Django's admin, with a dashboard of the day's figures.

Apps add tiles with `register_dashboard_tile`; each tile is a callable returning a dict
{"title", "value", "hint"?, "status"?: "ok"|"warn"|"alert", "url"?} or a list of them.
"""

from collections.abc import Callable

import structlog
from django.contrib import admin

logger = structlog.get_logger(__name__)

_dashboard_tiles: list[tuple[str, Callable]] = []
# The business first, in the order of the day; framework apps (auth, axes, beat) after.
APP_ORDER = ["ledger", "trading", "risk", "settlement", "core"]
# What runs the console rather than the business: listed apart, after the business apps.
PLUMBING_APPS = {"auth", "axes", "django_celery_beat"}
PLUMBING_MODELS = {("core", "User"), ("core", "IdempotentRequest"), ("core", "JobRun")}
PLUMBING_TITLE = "Plumbing: users, groups, lockouts, idempotency keys, scheduled jobs"


_partner_sections: list[Callable] = []


def register_partner_section(func):
    """Apps add to a partner's console page: func(request, partner) -> HTML (or "")."""
    _partner_sections.append(func)
    return func


def partner_sections(request, partner) -> list:
    return [html for html in (section(request, partner) for section in _partner_sections) if html]


# Dashboard sections likewise: the money first, the plumbing (scheduled jobs) last.
SECTION_ORDER = ["Ledger", "Trading", "Risk", "Settlement", "Partners", "Scheduled jobs"]


def register_dashboard_tile(section: str):
    def decorator(func):
        _dashboard_tiles.append((section, func))
        return func

    return decorator


class ClearhouseAdminSite(admin.AdminSite):
    site_header = "Clearhouse operations console"
    site_title = "Clearhouse operations"
    index_title = "Today"
    index_template = "admin/index.html"
    # The ledger's lists need the width more than a second copy of the app list does.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard": self.dashboard(request)}
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        apps = sorted(apps, key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"]))
        if app_label is not None:  # one app's own page: as Django has it
            return apps
        return _plumbing_apart(apps)

    def dashboard(self, request) -> list[dict]:
        sections: dict[str, list[dict]] = {}
        for section, tile in _dashboard_tiles:
            try:
                produced = tile(request)
            except Exception:  # one broken tile must not take the console down
                logger.exception("dashboard_tile_failed", tile=tile.__name__)
                produced = {"title": tile.__name__, "value": "unavailable", "status": "alert"}
            produced = produced if isinstance(produced, list) else [produced]
            sections.setdefault(section, []).extend(
                _linked_if_allowed(tile, request.user) for tile in produced
            )
        rank = {title: i for i, title in enumerate(SECTION_ORDER)}
        ordered = sorted(sections.items(), key=lambda item: rank.get(item[0], len(rank)))
        return [{"title": title, "tiles": tiles} for title, tiles in ordered]


def _linked_if_allowed(tile: dict, user) -> dict:
    """A tile's figure is for every staff member; its link only for those who may open the
    page (`<app>/<model>/...`), so no tile leads a role to a refusal."""
    url = tile.get("url") or ""
    parts = url.split("/")
    if len(parts) >= 2 and not user.has_perm(f"{parts[0]}.view_{parts[1]}"):
        return {**tile, "url": None}
    return tile


def _plumbing_apart(apps: list[dict]) -> list[dict]:
    """The business apps, then one group of the plumbing (each model keeps its own URL)."""
    business, plumbing = [], []
    for app in apps:
        if app["app_label"] in PLUMBING_APPS:
            plumbing += app["models"]
            continue
        kept = [
            m for m in app["models"] if (app["app_label"], m["object_name"]) not in PLUMBING_MODELS
        ]
        plumbing += [m for m in app["models"] if m not in kept]
        if kept:
            business.append({**app, "models": kept})
    if plumbing:
        business.append(
            {
                "name": PLUMBING_TITLE,
                "app_label": "plumbing",
                "app_url": "",
                "has_module_perms": True,
                "models": sorted(plumbing, key=lambda model: model["name"]),
            }
        )
    return business
