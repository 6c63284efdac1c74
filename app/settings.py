"""Runtime settings, read from the environment (prefix ``PROMOGATE_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./promogate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROMOGATE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://…",
    )
    database_pool_size: int = Field(10, ge=1, description="PostgreSQL connection pool size")
    database_statement_cache: bool = Field(
        True, description="asyncpg statement cache; turn off behind a transaction-mode pooler"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, description="uvicorn worker processes")
    graphiql: bool = Field(True, description="serve GraphiQL on GET /graphql")
    introspection: bool = Field(True, description="allow schema introspection")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sandbox_secret_key: str | None = Field(
        None, description="secret key given to the Sandbox project when it is first created"
    )
    sandbox_publishable_key: str | None = Field(
        None, description="publishable key given to the Sandbox project when it is first created"
    )
    default_time_zone: str = Field("UTC", description="time zone of newly created projects")
    default_currency: str = Field("USD", description="currency of newly created projects")
    auth_cache_seconds: float = Field(
        5, ge=0, le=300,
        description="how long a key that authenticated is trusted without a lookup; a "
        "revocation made by another process is seen within this time (0: look up every "
        "request)",
    )
    webhooks_allow_private: bool = Field(
        True, description="accept webhook endpoints on private and loopback addresses (link-local "
        "and cloud metadata addresses are refused always)",
    )
    # Request limits (docs/requests.md): each refused before anything runs, with its own code.
    max_query_depth: int = Field(12, ge=2, description="deepest field nesting (QUERY_TOO_DEEP)")
    max_aliases: int = Field(30, ge=1, description="aliases once fragments are expanded "
                             "(TOO_MANY_ALIASES)")
    max_tokens: int = Field(5000, ge=100, description="GraphQL tokens in the document "
                            "(TOO_MANY_TOKENS)")
    max_query_fields: int = Field(2000, ge=10, description="fields once fragments are "
                                  "expanded (QUERY_TOO_LARGE)")
    max_query_cost: int = Field(100_000, ge=100, description="1 per field, times the page "
                                "size of each connection (first, else 100) and 10 for each "
                                "other list around it (QUERY_TOO_COSTLY)")
    max_field_repeats: int = Field(20, ge=1, description="times one selection set may select "
                                   "the same response key, through fragments "
                                   "(TOO_MANY_REPEATS)")
    max_request_bytes: int = Field(1_048_576, ge=1024, description="largest request body "
                                   "(HTTP 413, REQUEST_TOO_LARGE)")

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("sandbox_secret_key")
    @classmethod
    def _secret_prefix(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("sk_"):
            raise ValueError("a secret key starts with 'sk_'")
        return value

    @field_validator("sandbox_publishable_key")
    @classmethod
    def _publishable_prefix(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("pk_"):
            raise ValueError("a publishable key starts with 'pk_'")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
