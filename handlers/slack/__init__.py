"""Slack inbound: actions, views, commands, events. Each handler acks first; the work runs
on the app's background executor (`errors.after_ack`), so an ack never waits on the
database or a store system."""
