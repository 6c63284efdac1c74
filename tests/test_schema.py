"""schema.graphql is the committed contract: it must equal what the code exports."""

from pathlib import Path

from app.api.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is stale: run `promogate schema --output schema.graphql`"
    )


def test_contract_names_exist() -> None:
    sdl = export_sdl()
    for name in (
        "interface Node",
        "node(id: ID!): Node",
        "type UserError",
        "type PageInfo",
        "scalar DateTime",
        "scalar JSON",
        "createProduct(input: CreateProductInput!): ProductPayload!",
        "createCustomer(input: UpsertCustomerInput!): CustomerPayload!",
    ):
        assert name in sdl, name
