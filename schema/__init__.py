"""The GraphQL schema: one for integrators over HTTP and for pages in-process."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from graphql import GraphQLError

from schema.mutations import Mutation
from schema.queries import Query


def _should_mask(error: GraphQLError) -> bool:
    # Validation and limit errors are the caller's mistake and safe to show; anything
    # raised inside a resolver is unexpected and masked (logged with the request id).
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        # Factories: a fresh extension per request. The parser and validation caches
        # live at module level, so they are shared across requests all the same.
        lambda: MaskErrors(should_mask_error=_should_mask),
        lambda: QueryDepthLimiter(max_depth=8),
        lambda: MaxAliasesLimiter(max_alias_count=15),
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)
