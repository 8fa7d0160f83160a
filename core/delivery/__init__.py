"""Delivery: notification targets, the `Notifier` port, the outbox and its dispatcher, and the
conversations the bot may post to."""
