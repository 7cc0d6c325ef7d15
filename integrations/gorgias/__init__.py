"""Gorgias: helpdesk tickets (Capability.TICKETS)."""
