"""The project's URLs as data, read from config.urls' resolver: tests driven from here cover
every endpoint there is, and every endpoint added later, without a hand-kept list."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.api.base import Api, PartnerApi

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Endpoint:
    namespace: str
    name: str
    kwargs: tuple[str, ...]
    view_class: type
    methods: tuple[str, ...]

    @property
    def is_partner(self) -> bool:
        return issubclass(self.view_class, PartnerApi)

    def path(self, **kwargs) -> str:
        return reverse(f"{self.namespace}:{self.name}", kwargs=kwargs)

    def __str__(self):
        return f"{self.namespace}:{self.name}"


def _walk(patterns, namespaces=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield ":".join(namespaces), pattern


def _kwargs(pattern: URLPattern) -> tuple[str, ...]:
    return tuple(pattern.pattern.regex.groupindex)


def api_endpoints(*versions: str) -> list[Endpoint]:
    """Every operation class of the API served under the given versions (v1, v2...)."""
    found = []
    for namespace, pattern in _walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        if namespace not in versions or view_class is None or not issubclass(view_class, Api):
            continue
        assert pattern.name, f"an API URL without a name: {pattern.pattern}"
        methods = tuple(m for m in METHODS if hasattr(view_class, m))
        found.append(Endpoint(namespace, pattern.name, _kwargs(pattern), view_class, methods))
    return found


def unversioned_api_views() -> list[str]:
    """API views served outside a version namespace, or not built on core.api.base.Api
    (which gives every operation its input checks): there should be none."""
    strays = []
    for namespace, pattern in _walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        cls = getattr(pattern.callback, "cls", None) or view_class
        under_api = namespace.split(":")[0] in ("v1", "v2")
        if under_api and not (view_class and issubclass(view_class, Api)):
            strays.append(str(pattern.pattern))
        if cls is not None and issubclass(cls, Api) and not under_api:
            strays.append(str(pattern.pattern))
    return strays


def admin_paths() -> list[tuple[str, str]]:
    """(name, path) of every admin URL, placeholders for its arguments (the admin refuses
    before it looks anything up)."""
    placeholders = {"app_label": "core"}
    paths = []
    for namespace, pattern in _walk(get_resolver().url_patterns):
        if namespace != "admin":
            continue
        if pattern.name is None:  # the admin's catch-all
            paths.append((str(pattern.pattern), "/admin/no-such-page/"))
            continue
        kwargs = {name: placeholders.get(name, "1") for name in _kwargs(pattern)}
        paths.append((pattern.name, reverse(f"admin:{pattern.name}", kwargs=kwargs)))
    return paths
