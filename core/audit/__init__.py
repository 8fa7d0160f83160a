"""The audit trail: an append-only record of every decision and every refused attempt."""
