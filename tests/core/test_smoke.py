def test_me_returns_the_user_and_partner_behind_the_token(partner_api, partner_user):
    response = partner_api.get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == partner_user.username
    assert body["partner"]["slug"] == "alpha"
