"""Run the test suite's FakeShopify in its own process (so a benchmark's client threads don't
share its interpreter), seeded with requested returns. Prints one line of JSON —
{"url", "shop", "token", "returns": [[return gid, order gid], …]} — then serves until killed.

    python -m bench.fake_shopify [returns]
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.shopify import FakeShopify  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    # No throttling: the benchmark measures returnsbot, not Shopify's cost bucket.
    fake = FakeShopify(shop_domain="bench.myshopify.com", bucket_size=1e12, restore_rate=1e12)
    returns = []
    for i in range(n):
        customer = fake.add_customer(display_name=f"Bench Customer{i}", tags=["VIP"] if i % 4 == 0 else [])
        order = fake.add_order(customer_id=customer, line_items=[{"title": "Trail Jacket", "price": f"{89 + 40 * i}.00"}])
        returns.append([fake.add_return(order, reason="DEFECTIVE" if i % 3 else "SIZE_TOO_SMALL"), order])
    with fake.serve() as url:
        print(json.dumps({"url": url, "shop": fake.shop_domain, "token": fake.access_token, "returns": returns}),
              flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
