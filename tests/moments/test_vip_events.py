"""A VIP's return (and order delayed) as moments, through ingest on the sample store; the tags
go to the store once, whatever the replays."""

from __future__ import annotations

from datetime import datetime, timezone

from policy.config import parse_policy
from policy.models import EventKind
from tests.bot.app_harness import container_for

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
POLICY = """
[[moments]]
name = "vip-return"
trigger = "vip_order_returned"
owner = "C0VIPS0001"
customer_tags = ["vip-returned"]
[moments.followup]
text = "Call before deciding"
due_in_hours = 4
dm_after_hours = 0

[[moments]]
name = "vip-late"
trigger = "vip_order_delayed"
owner = "C0VIPS0001"
order_tags = ["vip-late"]
"""


def test_a_vips_return_is_a_moment_once(database_url):
    from integrations.sample.store import SampleStore

    store = SampleStore.load(now=NOW)
    c = container_for(database_url, lambda: NOW, store=store)
    c.policy = c.ingest.policy = c.moments.policy = parse_policy(POLICY).for_shop(store.shop_facts())
    returns = [e for e in store.events() if e.kind is EventKind.RETURN_REQUESTED]
    for event in returns + returns:  # every return, twice
        c.ingest.ingest(event)
    c.drain("actions")
    found = c.moment_repo.open_tasks(limit=100)
    assert found, "the sample store has VIP returns"
    vips = {m.customer_id for _, m in found}
    tagged = [call for call in store.calls if call.method == "add_tags" and not call.replayed]
    assert sorted(call.target_id for call in tagged) == sorted(vips)  # each VIP once, replays included
    assert all(m.rule == "vip-return" and "A VIP asks to return" in m.why for _, m in found)
    assert all(t.owner is None and t.dm_after_hours == 0 for t, _ in found)
    assert all("vip-returned" in store.get_customer(cid).tags for cid in vips)
