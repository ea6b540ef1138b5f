"""The demo's own webhook receiver exists only with DEBUG (make run)."""

from django.urls import reverse


def test_demo_receiver_answers_only_in_debug(client, settings):
    url = reverse("demo_webhook_receiver")
    settings.DEBUG = False
    assert client.post(url, b"{}", content_type="application/json").status_code == 404
    settings.DEBUG = True
    response = client.post(url, b'{"a": 1}', content_type="application/json", headers={"X-Wandb-Signature": "x"})
    assert response.status_code == 200
    assert response.json() == {"received": 8, "signed": True}
    assert client.get(url).status_code == 405
