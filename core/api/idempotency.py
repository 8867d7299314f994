"""`@idempotent`: wraps a create endpoint's handler with Idempotency-Key handling."""

import functools
import json
import re

from django.db import transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import IdempotencyInProgress, ValidationFailed
from core.idempotency import (
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_release,
    request_fingerprint,
)
from core.models import IdempotentRequest

HEADER = "Idempotency-Key"
# Visible ASCII, spaces inside only: what every HTTP hop carries unchanged (and no NUL,
# which PostgreSQL refuses). The schema states the same pattern.
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)
REPLAYED_HEADER = "Idempotent-Replayed"
# Responses a client may retry to a different outcome are not remembered.
_NOT_STORED = {429}


def idempotent(handler):
    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not _KEY.fullmatch(key):
            raise ValidationFailed(
                details={HEADER: ["1 to 255 visible ASCII characters (spaces inside only)."]}
            )
        claim = idempotency_key_claim(
            partner_id=request.user.partner_id,
            key=key,
            fingerprint=request_fingerprint(
                method=request.method, path=request.path, body=request.data
            ),
        )
        if claim.state == IdempotentRequest.State.COMPLETED:
            return Response(
                claim.response_body, status=claim.response_status, headers={REPLAYED_HEADER: "true"}
            )
        # The endpoint's writes and the stored answer commit together: were the answer
        # stored after the work committed, a crash between the two would leave the work
        # done and its key in flight, and a retry after IDEMPOTENCY_STALE_AFTER would do it
        # again.
        try:
            with transaction.atomic():
                response = _handle(handler, view, request, *args, **kwargs)
                if response.status_code >= 500 or response.status_code in _NOT_STORED:
                    idempotency_key_release(claim=claim)
                else:
                    # Stored as rendered: a replay is byte-for-byte the first answer's JSON.
                    data = response.data
                    body = None if data is None else json.loads(JSONRenderer().render(data))
                    idempotency_key_complete(claim=claim, status=response.status_code, body=body)
        except IdempotencyInProgress as exc:  # a retry took the key over: ours is undone
            return view.handle_exception(exc)
        except BaseException:
            idempotency_key_release(claim=claim)  # nothing was kept: a retry may run it
            raise
        return response

    wrapper.idempotent = True  # the schema documents the header and its 409/422 from this
    return wrapper


def _handle(handler, view, request, *args, **kwargs):
    try:
        with transaction.atomic():  # a failed handler leaves nothing behind
            return handler(view, request, *args, **kwargs)
    except Exception as exc:
        return view.handle_exception(exc)  # domain errors become envelopes here
