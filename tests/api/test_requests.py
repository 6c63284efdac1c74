"""Malformed HTTP requests get a GraphQL-shaped 4xx, never a 500 (app/api/view.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.api.view import KEYLESS_MAX_BYTES, MAX_JSON_DEPTH
from app.main import create_app

JSON = {"content-type": "application/json"}
TYPENAME = b'{"query": "{ __typename }"}'


def nested(depth: int) -> bytes:
    """A body whose `variables.v` makes the whole document `depth` levels deep."""
    inner = depth - 2
    return (b'{"query": "{ __typename }", "variables": {"v": '
            + b"[" * inner + b"]" * inner + b"}}")


async def post(client: Any, body: bytes | Any, key: str | None, **headers: str) -> Any:
    sent = {**JSON, **headers}
    if key:
        sent["authorization"] = f"Bearer {key}"
    return await client.post("/graphql", content=body, headers=sent)


def assert_refused(response: Any, status: int, code: str, words: str) -> None:
    body = response.json()
    assert response.status_code == status, response.text
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert words in body["errors"][0]["message"]
    assert "Traceback" not in response.text


BAD_BODIES = [
    (b'{"query": "{ __typename }", "variables": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
     "nests deeper than 64 levels"),
    (nested(MAX_JSON_DEPTH + 1), "nests deeper than 64 levels"),
    (b'{"query": "{ __typename \xff }"}', "not valid UTF-8 (byte 24)"),
    (b'{"query": "query($s: String) { __typename }", "variables": {"s": "caf\xe9"}}',
     "not valid UTF-8"),
    (b'{"query": "query($s: String) { __typename }", "variables": {"s": "\\ud800"}}',
     "lone surrogate"),
    (b'{"query": "{ __typename \\udfff }"}', "lone surrogate"),
    (b'{"query": "query($s: String) { __typename }", "variables": {"s": "a\\u0000b"}}',
     "U+0000"),
    (b'{"query": "{ __typename }", "variables": {"k\\\\\\u0000": 1}}', "U+0000"),
    (b"null", "must be a JSON object"),
    (b'"{ __typename }"', "must be a JSON object"),
    (b"42", "must be a JSON object"),
    (b"true", "must be a JSON object"),
    (b'[{"query": "{ __typename }"}]', "a batch of operations) is not supported"),
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b'\xef\xbb\xbf{"query": "{ __typename }"}', "not valid JSON"),
    (b'{"query": "{ __typename }", "variables": [1]}', "`variables` must be an object"),
    (b'{"query": "{ __typename }", "variables": "{}"}', "`variables` must be an object"),
    (b'{"query": 5}', "`query` must be a string"),
    (b'{"query": "{ __typename }", "operationName": 5}', "`operationName` must be a string"),
    (b'{"query": "{ __typename }", "extensions": []}', "`extensions` must be an object"),
    (b'{"query": "{ __typename }", "variables": {"n": NaN}}', "NaN is not a JSON number"),
    (b'{"query": "{ __typename }", "variables": {"n": 1e999}}', "out of range"),
    (b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}",
     "too many digits"),
    (b'{"variables": {}}', "No GraphQL query found"),
    (b'{"query": "{ a } { b }"}', "more than one operation"),
    (b'{"query": "query A { a }", "operationName": "B"}', 'Unknown operation named "B"'),
    (b'{"query": "fragment F on Query { __typename }"}', "operation"),
]


class TestBadBodies:
    @pytest.mark.parametrize(("body", "words"), BAD_BODIES)
    async def test_refused_with_a_key(self, client, tenant, body, words):
        assert_refused(await post(client, body, tenant.secret_key), 400, "BAD_REQUEST", words)

    @pytest.mark.parametrize(("body", "words"), [
        (b, w) for b, w in BAD_BODIES if len(b) <= KEYLESS_MAX_BYTES
    ])
    async def test_refused_without_a_key(self, client, body, words):
        assert_refused(await post(client, body, None), 400, "BAD_REQUEST", words)

    async def test_deep_but_allowed_nesting_runs(self, client, tenant):
        response = await post(client, nested(MAX_JSON_DEPTH), tenant.secret_key)

        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_text_that_only_looks_like_a_surrogate_is_fine(self, client, tenant):
        body = json.dumps({"query": "{ __typename }",  # escaped surrogate pair: fine
                           "variables": {"s": "\\ud800 😀"}}).encode()

        response = await post(client, body, tenant.secret_key)

        assert response.json() == {"data": {"__typename": "Query"}}

    @pytest.mark.parametrize("literal", ['"\\u0000"', '"a\\u{0}"', '"""x\u0000"""'])
    async def test_a_nul_in_a_string_literal_is_refused_before_anything_runs(
        self, client, tenant, literal
    ):
        # found by the fuzzer: PostgreSQL text can't hold U+0000, so a lookup of such a code
        # failed with INTERNAL_SERVER_ERROR there (and worked on SQLite)
        body = json.dumps({"query": f"{{ voucher(code: {literal}) {{ id }} }}"}).encode()

        response = await post(client, body, tenant.secret_key)

        assert response.json()["data"] is None
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_REQUEST"]
        assert "U+0000" in response.json()["errors"][0]["message"]

    async def test_an_escaped_backslash_before_u0000_is_just_text(self, client, tenant):
        body = json.dumps({"query": 'query($s: String!) { voucher(code: $s) { id } }',
                           "variables": {"s": "\\u0000"}}).encode()

        response = await post(client, body, tenant.secret_key)

        assert response.json() == {"data": {"voucher": None}}

    @pytest.mark.parametrize(("content_type", "shown"), [
        ("text/plain", "'text/plain'"), ("application/graphql", "'application/graphql'"),
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),
        ("multipart/form-data; boundary=x", "'multipart/form-data'"), ("", "'(none)'"),
    ])
    async def test_wrong_content_type(self, client, tenant, content_type, shown):
        response = await post(client, TYPENAME, tenant.secret_key, **{"content-type":
                                                                       content_type})

        assert_refused(response, 400, "BAD_REQUEST", f"unsupported Content-Type {shown}")

    async def test_json_with_a_charset_is_fine(self, client, tenant):
        response = await post(client, TYPENAME, tenant.secret_key,
                              **{"content-type": "application/json; charset=utf-8"})

        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_other_methods(self, client, tenant):
        put = await client.put("/graphql", content=TYPENAME, headers=JSON)
        get = await client.get("/graphql", params={"query": "{ __typename }"},
                               headers={"authorization": f"Bearer {tenant.secret_key}",
                                        "accept": "application/json"})
        bad_variables = await client.get(
            "/graphql", params={"query": "{ __typename }", "variables": "{"},
            headers={"authorization": f"Bearer {tenant.secret_key}",
                     "accept": "application/json"},
        )

        assert_refused(put, 405, "METHOD_NOT_ALLOWED", "GET and POST")
        assert put.headers["allow"] == "GET, POST"
        assert_refused(get, 400, "BAD_REQUEST", "queries are not allowed when using GET")
        assert_refused(bad_variables, 400, "BAD_REQUEST", "not valid JSON")


class TestBodySize:
    async def test_a_body_over_the_limit_is_413(self, client, tenant, settings):
        body = b'{"query": "{ __typename }", "variables": {"pad": "' + b"x" * (
            settings.max_request_bytes) + b'"}}'

        response = await post(client, body, tenant.secret_key)

        assert_refused(response, 413, "REQUEST_TOO_LARGE", "larger than 1048576 bytes")

    async def test_a_streamed_body_over_the_limit_is_413(self, client, tenant, settings):
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"query": "{ __typename }", "variables": {"pad": "'
            for _ in range(settings.max_request_bytes // 65536 + 1):
                yield b"x" * 65536
            yield b'"}}'

        response = await post(client, chunks(), tenant.secret_key)

        assert "content-length" not in response.request.headers
        assert_refused(response, 413, "REQUEST_TOO_LARGE", "larger than 1048576 bytes")

    async def test_just_under_the_limit_runs(self, client, tenant, settings):
        head = b'{"query": "{ __typename }", "variables": {"pad": "'
        body = head + b"x" * (settings.max_request_bytes - len(head) - 3) + b'"}}'

        response = await post(client, body, tenant.secret_key)

        assert len(body) == settings.max_request_bytes
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_bad_content_length(self, client, tenant):
        response = await post(client, TYPENAME, tenant.secret_key,
                              **{"content-length": "-1"})

        assert_refused(response, 400, "BAD_REQUEST", "invalid Content-Length")

    async def test_without_a_key_only_a_small_body_is_read(self, client):
        body = b'{"query": "{ __typename }", "variables": {"pad": "' + b"x" * (
            KEYLESS_MAX_BYTES) + b'"}}'

        response = await post(client, body, None)

        assert_refused(response, 401, "UNAUTHENTICATED", "missing Authorization")


class TestDisconnects:
    async def test_a_client_gone_before_its_body_gets_a_400(self, settings, db, tenant):
        app = create_app(settings, database=db)
        scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
                 "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
                 "server": ("t", 80), "client": ("c", 1), "headers": [
                     (b"content-type", b"application/json"),
                     (b"authorization", f"Bearer {tenant.secret_key}".encode())]}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

        assert sent[0]["status"] == 400
        assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


class TestUnexpectedFailures:
    async def test_an_error_outside_graphql_is_a_shaped_500(self, client, tenant, monkeypatch):
        from app.api import view

        def explode(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("secret detail")

        monkeypatch.setattr(view, "request_data", explode)

        response = await client.post(
            "/graphql", content=TYPENAME,
            headers={**JSON, "authorization": f"Bearer {tenant.secret_key}",
                     "x-request-id": "req-9"},
        )

        assert response.status_code == 500
        assert response.json() == {"data": None, "errors": [{
            "message": "Internal server error (request id req-9)",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-9"},
        }]}
        assert "secret detail" not in response.text
