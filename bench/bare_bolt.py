"""The baseline for bench/ack.py: a bare Bolt app whose button handler only acks, served
exactly like returnsbot's (waitress, same thread count, Bolt's WSGI adapter).

    python -m bench.bare_bolt PORT SIGNING_SECRET SLACK_API_URL TOKEN
"""

from __future__ import annotations

import sys

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import serve


def main() -> None:
    port, secret, api_url, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    # Configured like returnsbot's app: same token handling, so authorisation is cached alike.
    app = App(token=token, signing_secret=secret, client=WebClient(token=token, base_url=api_url),
              process_before_response=True, token_verification_enabled=False)

    @app.action("case-approve")
    def noop(ack):
        ack()

    serve(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=16, _quiet=True)


if __name__ == "__main__":
    main()
