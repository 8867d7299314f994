"""Audit events as staff read them: the target's label linked to its console page, and what
changed as "field: before → after" rather than two JSON blobs."""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

SHORT_CHARS = 140  # of the list's "what changed" column; the page shows it all


def audit_targets_label(events) -> None:
    """Sets `target_label` on each event: its target's label, linked where the console has a
    page for it; the bare id where the row is gone. One query per target type."""
    by_type: dict[str, list] = {}
    for event in events:
        by_type.setdefault(event.target_type, []).append(event)
    for target_type, typed in by_type.items():
        targets = _targets(target_type, {event.target_id for event in typed})
        for event in typed:
            target = targets.get(event.target_id)
            event.target_label = _label(event, target)


def _targets(target_type: str, ids: set[str]) -> dict[str, object]:
    try:
        model = apps.get_model(target_type)
        rows = model._default_manager.in_bulk(list(ids))
    except (LookupError, ValueError, ValidationError):
        return {}
    return {str(pk): row for pk, row in rows.items()}


def _label(event, target):
    text = str(target) if target is not None else event.target_id
    try:
        url = reverse(f"admin:{event.target_type.replace('.', '_')}_change", args=[event.target_id])
    except NoReverseMatch:
        return text
    if target is None:
        return text  # deleted: no page to go to
    return format_html('<a href="{}" title="{}">{}</a>', url, event.target_id, text)


def audit_changes(event) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field that differs; a creation lists what it set."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("value", event.before, event.after)]
    names = list(dict.fromkeys([*before, *after]))
    return [
        (name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    ]


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def audit_changes_text(event) -> str:
    changes = audit_changes(event)
    if not changes:
        return "deleted" if event.before and not event.after else ""
    if event.before is None:  # a creation: what it was set to, empty fields left out
        parts = [f"{name}: {_shown(new)}" for name, _, new in changes if new not in (None, "")]
    else:
        parts = [f"{name}: {_shown(old)} → {_shown(new)}" for name, old, new in changes]
    text = "; ".join(parts)
    return text if len(text) <= SHORT_CHARS else text[: SHORT_CHARS - 1] + "…"


def audit_changes_table(event):
    changes = audit_changes(event)
    if not changes:
        return "no field changed"
    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
        ((name, _shown(old), _shown(new)) for name, old, new in changes),
    )
    return format_html(
        '<table class="audit-changes"><thead><tr><th>field</th><th>before</th>'
        "<th>after</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )
