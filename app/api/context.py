"""Per-request context: the caller, the database, the request id and fresh dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.api.loaders import Loaders
from app.db.session import Database
from app.services.projects import Principal
from app.settings import Settings


@dataclass
class Context:
    db: Database
    settings: Settings
    principal: Principal | None
    request_id: str
    request: Request | WebSocket | None = None
    response: Response | None = None
    loaders: Loaders = field(init=False)
    # Set when the Authorization header named a key that does not work (for the message).
    auth_problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # graphql-transport-ws: the connection_init payload ({"Authorization": "Bearer <key>"}).
    connection_params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.principal.project_id if self.principal else None)

    @property
    def project_id(self) -> str:
        # Resolvers run only after the gate (app/api/gate.py) let the operation through.
        assert self.principal is not None
        return self.principal.project_id
