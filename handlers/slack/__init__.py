"""Slack inbound: actions, views, commands, events. Each handler acks first; the work runs
after the ack — a case-card click as a `Click` handed to `submit_click`, everything else on
the app's background executor (`errors.after_ack`) — and nothing but `views.open` calls
Slack before the ack."""
