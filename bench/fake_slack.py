"""Run the test suite's FakeSlack in its own process (so a benchmark's client threads don't
share its interpreter). Prints the Web API base URL and token, then serves until killed.

    python -m bench.fake_slack
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.slack import FakeSlack  # noqa: E402


def main() -> None:
    with FakeSlack() as fake:
        print(fake.base_url, fake.token, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
