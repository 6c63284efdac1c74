"""GraphQL API (Strawberry): types, queries, mutations, dataloaders, auth, error mapping."""
