"""What an access token says of its user and partner, and the user rebuilt from it.

The partner API needs the user's id and partner on every request; reading both rows would
be two queries a request. The token carries them instead, signed, and the token store's
check (core/sessions.py) stands for `is_active`: deactivating a user or a partner, a
password change or a move to another partner moves the user's session epoch
(core/signals.py), so such a token is refused on the very next request. The names shown
(username, email, the partner's slug and name) are as of the token's issue, at most one
access lifetime old.
"""

import uuid

from core.models import Partner, User

PARTNER_CLAIM = "partner_id"
_USER_FIELDS = ("id", "username", "email", "partner_id", "is_active")
_PARTNER_FIELDS = ("id", "slug", "name", "is_active")


def principal_claims(user: User) -> dict:
    """The claims a partner user's tokens carry besides simplejwt's own."""
    partner = user.partner
    return {
        PARTNER_CLAIM: str(partner.pk),
        "username": user.username,
        "email": user.email,
        "partner_slug": partner.slug,
        "partner_name": partner.name,
    }


def principal_from_claims(token) -> User | None:
    """The token's user and partner as model instances, without a query; None when the
    token carries no partner (it was not issued to a partner user by session_login).

    They are built as loaded from the database with only these fields: any other field
    read (is_staff, last_login...) is fetched from the database rather than guessed."""
    partner_id = token.get(PARTNER_CLAIM)
    if not partner_id:
        return None
    partner = Partner.from_db(
        "default",
        _PARTNER_FIELDS,
        (uuid.UUID(partner_id), token.get("partner_slug", ""), token.get("partner_name", ""), True),
    )
    user = User.from_db(
        "default",
        _USER_FIELDS,
        (
            int(token["user_id"]),
            token.get("username", ""),
            token.get("email", ""),
            partner.pk,
            True,
        ),
    )
    user.partner = partner
    return user
