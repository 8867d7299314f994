"""The partner API: the batches a partner takes part in, and only its own obligations."""

import pytest

from settlement.services.clearing import batch_clear
from settlement.services.posting import batch_settle
from settlement.services.windows import batch_close, batch_open_ensure
from tests.conftest import login
from tests.settlement.conftest import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(partner, other_partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=7)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=7)
    batch = batch_clear(batch=batch_close(batch=batch_open_ensure(), via="test"), via="test")
    return batch_settle(batch=batch, via="test")


def client_for(api_client, user):
    token = login(api_client, user.username)["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client


def test_a_partner_sees_its_batches_and_its_own_obligations_only(settled, api_client, partner_user):
    alpha = client_for(api_client, partner_user)
    listed = alpha.get("/api/v1/settlement/batches/").json()
    assert listed["results"] == [
        {
            "id": str(settled.pk),
            "business_date": str(settled.business_date),
            "cycle": settled.cycle,
            "status": "settled",
            "cutoff": listed["results"][0]["cutoff"],
            "settled_at": listed["results"][0]["settled_at"],
        }
    ]
    assert listed["results"][0]["settled_at"].endswith("Z")
    detail = alpha.get(f"/api/v1/settlement/batches/{settled.pk}/").json()
    assert detail["obligations"] == [
        {"asset": "ACME", "net_amount": "7", "status": "posted"},
        {"asset": "USD", "net_amount": "-70.00", "status": "posted"},
    ]


def test_a_batch_the_partner_is_not_in_is_not_found(settled, api_client, db):
    from core.services import partner_create, partner_user_create
    from tests.conftest import PASSWORD

    gamma = partner_create(slug="gamma", name="Gamma")
    user = partner_user_create(partner=gamma, username="gamma-api", password=PASSWORD)
    outsider = client_for(api_client, user)
    assert outsider.get("/api/v1/settlement/batches/").json()["results"] == []
    response = outsider.get(f"/api/v1/settlement/batches/{settled.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
