"""The OpenAPI document says every answer the API gives: besides each route's own, the
answers every route shares (found by fuzzing the API against its document,
tests/test_api_fuzz.py): 401 without a valid token; for a route that takes input, 400 when
it is refused in words (a body that is not JSON, a bad cursor, an action refused) and 422
when it does not fit the schema (Ninja's list of problems); 404 when an id in the path names
nothing in the workspace."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_PROBLEMS = {
    "type": "object",
    "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
    "required": ["detail"],
}


def _add(answers: dict[Any, Any], code: int, description: str, schema: dict[str, Any]) -> None:
    """Unless the route documents ``code`` itself (Ninja keys its own answers by int)."""
    if code not in answers and str(code) not in answers:
        answers[code] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }


def document_shared_answers(document: dict[str, Any]) -> dict[str, Any]:
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = operation["responses"]
            parameters = operation.get("parameters", [])
            if operation.get("security"):
                _add(answers, 401, "No valid token", _ERROR)
            if parameters or "requestBody" in operation:
                _add(answers, 400, "The input is refused (in words)", _ERROR)
                _add(answers, 422, "The input does not fit the schema", _PROBLEMS)
            if any(p.get("in") == "path" for p in parameters):
                _add(answers, 404, "Not found in this workspace", _ERROR)
    return document


class DocumentedAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return document_shared_answers(super().get_openapi_schema(**kwargs))
