"""The GraphQL API over HTTP, as an integrator calls it."""

from __future__ import annotations


async def gql(client, query: str, variables: dict | None = None, token: str | None = None, **headers) -> dict:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
