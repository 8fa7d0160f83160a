"""Scheduled channel digests: what changed, what to do about it, once per slot per channel."""
