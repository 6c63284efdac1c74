"""Every GraphQL enum, exposed from the one Python enum that declares it.

Each enum is declared once, in the lowest layer that needs it: `app.engine.model` for the domain
values the engine evaluates with, `app.db` for stored values, a service for a request option
of its use case. This module only names it for GraphQL: each public name below is the GraphQL
enum's name and is the declaring class itself (`OrderStatus is app.db.orders.OrderStatus`), so
members, their order and values are the declaring enum's. The API modules annotate with these
names (`from app.api.enums import OrderStatus`). A description, should one be added, goes into
`_DESCRIPTIONS` (and so into schema.graphql).
"""

from __future__ import annotations

from enum import Enum as _Enum

import strawberry

from app.db import campaigns as _campaigns
from app.db import catalog as _catalog
from app.db import events as _events
from app.db import orders as _orders
from app.db import projects as _projects
from app.db import redemptions as _redemptions
from app.db import vouchers as _vouchers
from app.engine import model as _engine
from app.services import stacking_rules as _stacking_rules
from app.services.checkout.qualify import HolderRole as _HolderRole
from app.services.checkout.qualify import Scenario as _Scenario
from app.services.checkout.qualify import Sort as _Sort

ApiKeyKind = _projects.KeyKind
AsyncActionStatus = _redemptions.AsyncActionStatus
CampaignMode = _campaigns.CampaignMode
CampaignType = _campaigns.CampaignType
CreationStatus = _campaigns.CreationStatus
DiscountCalculationMode = _engine.CalculationMode
DiscountEffect = _engine.DiscountEffect
DiscountType = _engine.DiscountType
GiftEffect = _engine.GiftEffect
HolderRole = _HolderRole
OrderStatus = _orders.OrderStatus
ProductCollectionType = _catalog.CollectionType
QualificationScenario = _Scenario
QualificationSort = _Sort
RedeemableObject = _engine.RedeemableObject
RedeemableStatus = _engine.RedeemableStatus
RedeemablesApplicationMode = _engine.ApplicationMode
RedeemablesNoEffectRule = _engine.NoEffectRule
RedeemablesProductsApplicationMode = _engine.ProductsApplicationMode
RedeemablesRollbackOrderMode = _stacking_rules.RollbackOrderMode
RedeemablesSortingRule = _engine.SortingRule
RedemptionResult = _redemptions.RedemptionResult
RedemptionStatus = _redemptions.RedemptionStatus
StackingRulesType = _engine.CategoryType
TransactionType = _vouchers.TransactionType
VoucherType = _vouchers.VoucherType
WebhookDeliveryStatus = _events.DeliveryStatus

_DESCRIPTIONS: dict[str, str] = {}


def _exposed() -> dict[str, type[_Enum]]:
    """GraphQL name → enum class: the public enum names of this module."""
    found: dict[str, type[_Enum]] = {}
    for name, value in globals().items():
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, _Enum):
            if value in found.values():
                raise TypeError(f"{value.__qualname__} is exposed twice (a class has one name)")
            found[name] = value
    return found


EXPOSED = _exposed()
for _name, _class in EXPOSED.items():
    strawberry.enum(_class, name=_name, description=_DESCRIPTIONS.get(_name))
