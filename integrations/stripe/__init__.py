"""Stripe: Radar risk, early fraud warnings, disputes and refunds (the payment processor).
Every Stripe field name lives in this package."""
