"""Names shared across domains."""

API_PREFIX = "/api/v1"
