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
        return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"]))

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
