"""The HTTP floor for bench/ingest.py: waitress served the way `returnsbot serve` serves
(16 threads, the same adjustments), in front of a WSGI app that reads the body and answers
200 — what any delivery costs before returnsbot's own code runs.

    python -m bench.http_floor PORT
"""

from __future__ import annotations

import sys

from waitress.server import create_server

ANSWER = b'{"ok": true, "duplicate": false}'


def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


if __name__ == "__main__":
    create_server(app, host="127.0.0.1", port=int(sys.argv[1]), threads=16, ident="returnsbot",
                  clear_untrusted_proxy_headers=True).run()
