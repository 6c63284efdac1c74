"""Event delivery after commit: transactional outbox, webhooks, subscriptions, bus sinks."""
