"""Shopify Admin GraphQL (2026-10): client, webhooks, documents, mapping and the store."""
