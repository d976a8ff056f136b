"""The GraphQL schema: one for integrators over HTTP and for pages in-process."""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from schema.mutations import Mutation
from schema.queries import Query


def _should_mask(error: GraphQLError) -> bool:
    # Validation and limit errors are the caller's mistake and safe to show; anything
    # raised inside a resolver is unexpected and masked (logged with the request id).
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


# The depth and alias limits as validation rules made once: the validation cache is keyed
# on the rules, so rules made anew per request (as QueryDepthLimiter and MaxAliasesLimiter
# do) would never hit it, and every request would be validated again.
LIMITS: list[type[ASTValidationRule]] = [depth_rule(8, None, None), max_aliases_rule(15)]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        # Factories: a fresh extension per request. The parser and validation caches
        # live at module level, so they are shared across requests all the same.
        lambda: MaskErrors(should_mask_error=_should_mask),
        lambda: AddValidationRules(LIMITS),
        lambda: MaxTokensLimiter(max_token_count=2000),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)
