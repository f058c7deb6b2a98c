"""The response check every API test runs through (tests/schema_validation.py)."""

import json

import pytest

from tests.schema_validation import response_schema_problem


@pytest.mark.django_db
class TestResponseSchemaProblem:
    def test_a_conforming_response_has_no_problem(self, user_client):
        response = user_client.get("/api/v1/contacts")

        assert response_schema_problem(response) is None

    def test_a_body_off_its_component_is_a_problem(self, user_client):
        response = user_client.get("/api/v1/contacts")
        response.content = json.dumps({"contacts": "none", "meta": {}}).encode()

        assert "GET /api/v1/contacts 200" in response_schema_problem(response)

    def test_an_undocumented_status_is_a_problem(self, user_client):
        response = user_client.get("/api/v1/contacts")
        response.status_code = 418

        assert "status 418 is not documented" in response_schema_problem(response)

    def test_an_error_body_must_be_the_envelope(self, user_client):
        response = user_client.get("/api/v1/contacts/999")
        response.content = b'{"detail": "Not found."}'

        assert "404" in response_schema_problem(response)

    def test_routes_outside_the_schema_are_not_checked(self, user_client):
        response = user_client.get("/api/v1/docs/")

        assert response_schema_problem(response) is None
