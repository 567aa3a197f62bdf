"""The web app answers: health probe and admin login page."""


def test_health_probe(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_admin_login_page(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"password" in response.content.lower()
