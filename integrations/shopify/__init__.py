"""Shopify Admin GraphQL (2025-01): client, webhooks, documents, mapping and the store."""
