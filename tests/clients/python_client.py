"""The Python MCP SDK (`mcp` 2.x) against a protected MCP server, as tests/tests/clients.rs runs it:

    MCP_URL=http://127.0.0.1:PORT/mcp ADMIN_TOKEN=... GUEST_TOKEN=... .venv/bin/python python_client.py

Prints one JSON object on stdout: what the SDK returned or raised for each step, unjudged (the
Rust test asserts on it). Tokens come from the environment, never the command line.
"""

import asyncio
import json
import os
import sys
from importlib.metadata import version

import httpx2
from mcp import Client
from mcp.client.auth.utils import extract_resource_metadata_from_www_auth, handle_protected_resource_response
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set")
    return value


URL = required("MCP_URL")


def leaf(error: BaseException) -> BaseException:
    """The first real error inside the task-group wrappers anyio raises."""
    while getattr(error, "exceptions", None):
        error = error.exceptions[0]
    return error


def describe(error: BaseException) -> dict:
    error = leaf(error)
    if isinstance(error, MCPError):
        return {"name": type(error).__name__, "code": error.code, "message": error.message, "data": error.data}
    return {"name": type(error).__name__, "code": None, "message": str(error), "data": None}


async def step(body) -> dict:
    try:
        return {"ok": await body()}
    except BaseException as error:  # noqa: BLE001 - every failure is reported, none is judged here
        return {"raised": describe(error)}


async def session(token: str | None, mode: str, body, responses: list) -> dict:
    """Connects in `mode` ("auto" probes the 2026-07-28 `server/discover`, "legacy" initializes),
    with `token` in an `Authorization` header, and runs `body(client)`."""

    async def record(response: httpx2.Response) -> None:
        responses.append(
            {
                "method": response.request.method,
                "status": response.status_code,
                # The SDK's own RFC 9728 reading of the challenge (None unless 401/403).
                "resource_metadata": extract_resource_metadata_from_www_auth(response),
            }
        )

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, event_hooks={"response": [record]}) as http:

        async def run():
            async with Client(streamable_http_client(URL, http_client=http), mode=mode) as client:
                return {"protocol": client.protocol_version, **(await body(client))}

        return await step(run)


async def tool_names(client) -> list:
    return sorted(tool.name for tool in (await client.list_tools()).tools)


async def as_admin(client) -> dict:
    return {"tools": await tool_names(client)}


async def as_guest(client) -> dict:
    async def allowed():
        result = await client.call_tool("list_products", {})
        return {"is_error": result.is_error, "structured": result.structured_content}

    async def denied():
        result = await client.call_tool("delete_product", {"id": 2})
        return {"is_error": result.is_error, "content": [c.model_dump() for c in result.content]}

    return {"tools": await tool_names(client), "allowed": await step(allowed), "denied": await step(denied)}


async def main() -> None:
    out = {"client": "mcp (Python)", "version": version("mcp")}
    out["admin"] = await session(required("ADMIN_TOKEN"), "auto", as_admin, [])
    out["guest"] = await session(required("GUEST_TOKEN"), "auto", as_guest, [])
    out["guest_legacy"] = await session(required("GUEST_TOKEN"), "legacy", as_guest, [])

    responses: list = []
    out["no_token"] = await session(None, "auto", as_admin, responses)
    out["no_token"]["responses"] = responses
    # Follow the challenge as the SDK's OAuth flow does: fetch and parse the metadata it names.
    metadata_url = next((r["resource_metadata"] for r in responses if r["resource_metadata"]), None)
    if metadata_url:
        async with httpx2.AsyncClient() as http:
            metadata = await handle_protected_resource_response(await http.get(metadata_url))
        out["no_token"]["metadata"] = metadata.model_dump(mode="json", exclude_none=True) if metadata else None
    print(json.dumps(out))


asyncio.run(main())
