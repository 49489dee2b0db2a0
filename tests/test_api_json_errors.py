"""Every answer under /api/v1/ is JSON in the API's error shape, including the ones Django
gives before a view runs. CI's fuzzer found GET /api/v1/conversations/{conversation_id}
answering an HTML 'Not Found' page for an id the route's int converter does not match
(-1, a word): undocumented, and unreadable by an API client."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.inbox import queries
from tests.fixtures import token_client


def _json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"]
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations/-1",  # the fuzzer's input: the int converter does not match
        "/api/v1/conversations/abc",
        "/api/v1/conversations/1/2",
        "/api/v1/conversations/1%0A",
        "/api/v1/conversations/",
        "/api/v1/no-such-route",
    ],
)
def test_an_id_or_path_that_matches_no_route_answers_a_json_404(api, path):
    _json_error(api.get(path), 404)


def test_the_fuzzers_404_is_the_one_the_document_describes(api):
    document = api.get("/api/v1/openapi.json").json()
    answer = document["paths"]["/api/v1/conversations/{conversation_id}"]["get"]["responses"]
    assert "application/json" in answer["404"]["content"]
    assert _json_error(api.get("/api/v1/conversations/-1"), 404) == {"detail": "Not Found"}


def test_without_a_token_an_unknown_path_is_json_too(db):
    _json_error(Client().get("/api/v1/conversations/-1"), 404)


def test_a_method_the_route_does_not_have_answers_json_405_with_allow(api):
    response = api.delete("/api/v1/me")
    _json_error(response, 405)
    assert "GET" in response["Allow"]


def test_an_unexpected_error_answers_json_500_not_a_page(owner, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "conversation_for", broken)
    client = token_client(owner)
    client.raise_request_exception = False
    body = _json_error(client.get("/api/v1/conversations/1"), 500)
    assert "boom" not in body["detail"]


def test_the_docs_page_and_a_good_answer_are_left_alone(api):
    assert api.get("/api/v1/docs")["Content-Type"].startswith("text/html")
    assert api.get("/api/v1/me").status_code == 200
