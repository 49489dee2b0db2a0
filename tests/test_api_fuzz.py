"""The REST API fuzzed with schemathesis from its own OpenAPI document: every operation, with
generated valid and invalid input, by an owner's token, over a workspace with data in it. No
answer may be a 500, and every answer must match the document (status codes, content type,
body schema). Derandomized, so a run is repeatable and CI's time stays small; runs on both
databases like the rest of the suite."""

from __future__ import annotations

import functools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from frontdesk.api.views import api
from frontdesk.crm.models import Lead
from frontdesk.workspaces.models import ApiToken
from frontdesk.wsgi import application

EXAMPLES = 12  # per operation, valid and invalid input mixed: about 40 s a database


@pytest.fixture
def token(owner, agent, inbound) -> str:
    """The owner's token, in a workspace with a channel, a conversation and a lead."""
    conversation = inbound(
        "Do you ship to Lyon?", handle="client-1", contact_name="Pat"
    ).conversation
    Lead.objects.create(workspace=owner.workspace, contact=conversation.contact, title="Lyon")
    return ApiToken.issue(owner)[1]


@pytest.fixture
def openapi(token):
    """The document as the app serves it; calls go to the app in this process, inside the
    test's transaction (as Django's test client does, requests leave the connection open)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield _document()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@functools.cache
def _document():
    """Read once per test process (parsing it is most of a small run's time)."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


OPERATIONS = sorted(
    (path, method.upper())
    for path, item in api.get_openapi_schema()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_within_its_documented_schema_and_never_500(
    openapi, token, path, method
):
    operation = openapi[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    call()
