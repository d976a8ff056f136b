"""Prints the schema in SDL: `python -m schema.export > schema/schema.graphql`."""

from schema import schema

if __name__ == "__main__":
    print(schema.as_str())
