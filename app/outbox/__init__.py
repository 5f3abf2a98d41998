"""The outbox: every event the service announces, written in the transaction of its change."""
