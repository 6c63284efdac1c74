"""The Strawberry schema: every area's queries and mutations, `node(id:)`, limits, masking."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from app.api import (
    campaigns,
    catalog,
    categories,
    customers,
    events,
    inputs,
    orders,
    projects,
    publications,
    qualifications,
    redemptions,
    rules,
    stacking_rules,
    validation,
    vouchers,
    webhooks,
)
from app.api.context import Context
from app.api.errors import log_unexpected
from app.api.gate import Gate
from app.api.json_scalar import OVERRIDES as JSON_OVERRIDES
from app.api.relay import Node
from app.api.scalars import SCALARS
from app.db import campaigns as campaign_tables
from app.db import catalog as catalog_tables
from app.db import categories as category_tables
from app.db import customers as customer_tables
from app.db import events as event_tables
from app.db import orders as order_tables
from app.db import projects as project_tables
from app.db import redemptions as redemption_tables
from app.db import rules as rule_tables
from app.db import vouchers as voucher_tables
from app.db.ids import prefix_of
from app.settings import Settings

# prefix -> (loader model, GraphQL type)
NODE_TYPES: dict[str, tuple[Any, Any]] = {
    "prod": (catalog_tables.Product, catalog.Product),
    "sku": (catalog_tables.Sku, catalog.Sku),
    "pcol": (catalog_tables.ProductCollection, catalog.ProductCollection),
    "cat": (category_tables.Category, categories.Category),
    "cust": (customer_tables.Customer, customers.Customer),
    "ord": (order_tables.Order, orders.Order),
    "key": (project_tables.ApiKey, projects.ApiKey),
    "r": (redemption_tables.Redemption, redemptions.Redemption),
    "pub": (voucher_tables.Publication, publications.Publication),
    "rr": (redemption_tables.RedemptionRollback, redemptions.RedemptionRollback),
    "camp": (campaign_tables.Campaign, campaigns.Campaign),
    "promo": (campaign_tables.PromotionTier, campaigns.PromotionTier),
    "stack": (campaign_tables.PromotionStack, campaigns.PromotionStack),
    "aa": (redemption_tables.AsyncAction, campaigns.AsyncAction),
    "v": (voucher_tables.Voucher, vouchers.Voucher),
    "vtx": (voucher_tables.VoucherTransaction, vouchers.VoucherTransaction),
    "val": (rule_tables.ValidationRule, rules.ValidationRule),
    "asgm": (rule_tables.ValidationRuleAssignment, rules.ValidationRuleAssignment),
    "evt": (event_tables.Event, webhooks.Event),
    "whe": (event_tables.WebhookEndpoint, webhooks.WebhookEndpoint),
    "whd": (event_tables.WebhookDelivery, webhooks.WebhookDelivery),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id (the prefix tells the type).")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        ctx = info.context
        prefix = prefix_of(str(id))
        if prefix == "proj":
            if str(id) != ctx.project_id:
                return None
            return await projects.ProjectQuery().project(info)
        if prefix not in NODE_TYPES:
            return None
        model, gql_type = NODE_TYPES[prefix]
        row = await ctx.loaders.by_id(model).load(str(id))
        return gql_type.from_row(row) if row else None


Query = merge_types(
    "Query",
    (
        NodeQuery,
        projects.ProjectQuery,
        catalog.CatalogQuery,
        categories.CategoryQuery,
        customers.CustomerQuery,
        orders.OrderQuery,
        validation.ValidationQuery,
        qualifications.QualificationQuery,
        publications.PublicationQuery,
        redemptions.RedemptionQuery,
        rules.ValidationRuleQuery, campaigns.CampaignQuery, vouchers.VoucherQuery,
        stacking_rules.StackingRulesQuery,
        webhooks.WebhookQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        projects.ProjectMutation,
        catalog.CatalogMutation,
        categories.CategoryMutation,
        customers.CustomerMutation,
        orders.OrderMutation,
        redemptions.RedemptionMutation,
        publications.PublicationMutation,
        rules.ValidationRuleMutation, campaigns.CampaignMutation, vouchers.VoucherMutation,
        stacking_rules.StackingRulesMutation,
        webhooks.WebhookMutation,
    ),
)
Subscription = merge_types("Subscription", (events.EventSubscription,))


class PromogateSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors are answers, not incidents; unexpected ones are logged with the
        # request id and traceback (the client sees only the request id).
        context = execution_context.context if execution_context else None
        log_unexpected(errors, getattr(context, "request_id", "-"))


TYPES = [t for _, t in NODE_TYPES.values()] + [projects.Project]


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # Gate: token limit, the document limits, who may run it, then validation; all before
    # execution, each refusal skipping the rest (app/api/gate.py). Once the operation has
    # run, it also does what AmountErrors and MaskUnexpectedErrors do (one extension per
    # request instead of three): a too-large SafeInt placed at its input path, unexpected
    # errors masked.
    extensions: list[Any] = [Gate.factory(settings)]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    schema = PromogateSchema(
        query=Query, mutation=Mutation, subscription=Subscription, types=TYPES,
        extensions=extensions, config=StrawberryConfig(scalar_map=SCALARS),
        scalar_overrides=JSON_OVERRIDES,
    )
    inputs.install(schema)
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
