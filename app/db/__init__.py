"""Storage: SQLModel tables, the async engine and sessions, one repository module per aggregate."""
