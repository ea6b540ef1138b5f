"""Every answer carries the security headers: an enforced Content-Security-Policy outside DEBUG (report-only under
DEBUG, so Django's debug pages keep their styles), nosniff, a same-origin referrer policy and frame denial."""

import pytest

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def production_policy(settings):
    """The policy as settings build it with DEBUG=false (the test run has DEBUG=true)."""
    settings.CONTENT_SECURITY_POLICY = settings.CONTENT_SECURITY_POLICY or settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None


@pytest.mark.parametrize("path", ["/login/", "/no/such/page/", "/api/v1/openapi.json"])
def test_pages_and_api_answers_carry_the_security_headers(client, production_policy, path):
    response = client.get(path)
    assert set(response["Content-Security-Policy"].split("; ")) == set(POLICY.split("; "))
    assert "Content-Security-Policy-Report-Only" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_under_debug_the_policy_only_reports(client, settings):
    settings.CONTENT_SECURITY_POLICY = None
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    response = client.get("/login/")
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert "Content-Security-Policy" not in response


def test_the_login_page_has_no_inline_script_or_style(client):
    html = client.get("/login/").content.decode()
    assert "<style" not in html
    assert " style=" not in html
    assert "<script>" not in html
    assert " onclick=" not in html
