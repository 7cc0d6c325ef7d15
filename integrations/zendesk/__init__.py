"""Zendesk Support: helpdesk tickets (Capability.TICKETS)."""
