"""The sample store's `[[moments]]`: the triggers `returnsbot demo` runs when the policy it is
given has none, chosen for the sample data — Noah Williams's first order (#1051, $1,337) is
a big first order, and Ava Thompson's #1049 carries her lifetime spend past $1,000."""

from __future__ import annotations

from policy.config import parse_policy
from policy.moments import MomentRule

SAMPLE_VIP_CHANNEL = "C0VIPDEMO1"

SAMPLE_MOMENTS = f"""
[[moments]]
name = "big-first-order"
trigger = "first_order_over"
amount = 1000
owner = "{SAMPLE_VIP_CHANNEL}"
customer_tags = ["big-first-order"]
order_tags = ["vip-order"]
[moments.followup]
text = "Call to thank them and check the fit before it ships"
due_in_hours = 24

[[moments]]
name = "new-vip"
trigger = "became_vip"
lifetime_spend = 1000
owner = "{SAMPLE_VIP_CHANNEL}"
customer_tags = ["VIP", "lifetime-1000"]
[moments.followup]
text = "Send the VIP welcome kit"
due_in_days = 3
"""


def sample_moments() -> tuple[MomentRule, ...]:
    return parse_policy(SAMPLE_MOMENTS, source_name="integrations/sample/moments.py").moments
