"""Every named operation the pages run is valid against the schema: a renamed field or
argument fails here, not when a parent opens the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

from schema import schema

OPERATIONS = Path(__file__).resolve().parents[2] / "views" / "operations"
FILES = sorted(OPERATIONS.glob("*.graphql"))


def test_the_pages_have_operations():
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_operation_is_valid_against_the_schema(path: Path):
    document = parse(path.read_text())
    names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert names and len(names) == len(operations), f"{path.name}: every operation needs a name"
    errors = validate(schema._schema, document)
    assert not errors, "\n".join(f"{path.name}: {e.message}" for e in errors)
