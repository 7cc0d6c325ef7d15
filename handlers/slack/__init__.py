"""Slack inbound: actions, views, commands, events. Each handler acks first; the work runs
in a lazy listener (a thread) so an ack never waits on the database or a store system."""
