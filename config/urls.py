from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.health import healthz, readyz

# Each version is a namespace (DRF NamespaceVersioning). v2 serves v1's operations until
# an operation changes shape; then v2 gets its own module for that app.
api_v1 = [
    path("", include("core.api.urls")),
    path("ledger/", include("ledger.api.urls")),
    path("trading/", include("trading.api.urls")),
    path("settlement/", include("settlement.api.urls")),
]
api_v2 = api_v1

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "v1"))),
    path("api/v2/", include((api_v2, "v2"))),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
