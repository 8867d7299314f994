from rest_framework.permissions import BasePermission


class IsPartnerUser(BasePermission):
    """Only an authenticated user of a partner may use the partner API."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.partner_id)
