"""The App Home tab: published when a person opens it."""

from __future__ import annotations

from slack_bolt import Ack, App

from blocks.home import render_home
from blocks.moment import open_tasks_lines
from handlers.slack.errors import after_ack
from handlers.slack.services import services


def register(app: App) -> None:
    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict, body: dict, context: dict) -> None:
        ack()
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        svc = services(context)

        def publish() -> None:
            home = svc.home.home_for(user)
            now = svc.home.clock()
            view = render_home([(i.case, i.url) for i in home.queue], home.queue_total,
                               [(i.case, i.url) for i in home.recent], now,
                               followups=open_tasks_lines(list(home.followups), now))
            svc.gateway.publish_home(user, view)

        after_ack(context, publish, body=body, refused=())
