from django.urls import path

from core.api.auth_views import LogoutApi, TokenObtainApi, TokenRefreshApi
from core.api.views import MeApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("me/", MeApi.as_view(), name="me"),
]
