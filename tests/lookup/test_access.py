"""Who may use /order and /playbook (`[access] lookup`, default the approvers), and the
audit row every use leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.schema import audit_log
from bot.services.lookup import LookupAccess
from policy.config import Policy, parse_policy

TIERS = '''
[[approval_tiers]]
up_to = 250
approvers = ["U0ALICE001", "S0OPSTEAM1"]
[[approval_tiers]]
approvers = ["U0HEADOPS1"]
'''
GROUPS = {"S0OPSTEAM1": {"U0TEAMMATE"}, "S0SUPPORT1": {"U0SUPPORT1"}}


def members(group: str) -> set[str]:
    return GROUPS.get(group, set())


def access(engine, clock, text: str = TIERS) -> LookupAccess:
    return LookupAccess(policy=parse_policy(text), engine=engine, clock=clock)


def audited(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [(r.case_id, r.at, r.actor, r.event, r.detail) for r in conn.execute(select(audit_log))]


def test_by_default_the_approvers_of_every_tier_may_look_up(engine, clock):
    a = access(engine, clock)
    assert a.may("U0ALICE001", "C0ANYWHERE", members)  # named in tier 1
    assert a.may("U0HEADOPS1", None, members)  # named in tier 2
    assert a.may("U0TEAMMATE", "C0ANYWHERE", members)  # in a group named in a tier
    assert not a.may("U0SUPPORT1", "C0ANYWHERE", members)
    assert not a.may(None, "C0ANYWHERE", members)


def test_access_names_users_groups_and_channels(engine, clock):
    a = access(engine, clock, TIERS + '[access]\nlookup = ["U0SUPPORT2", "S0SUPPORT1", "C0OPSROOM1"]\n')
    assert a.may("U0SUPPORT2", "C0ANYWHERE", members)
    assert a.may("U0SUPPORT1", "C0ANYWHERE", members)
    assert a.may("U0ANYBODY1", "C0OPSROOM1", members)
    assert not a.may("U0ALICE001", "C0ANYWHERE", members)  # set explicitly: approvers are not implied


def test_a_group_slack_cannot_list_counts_as_not_a_member(engine, clock):
    def broken(group):
        raise RuntimeError("usergroups.users.list: ratelimited")

    assert not access(engine, clock).may("U0TEAMMATE", "C0ANYWHERE", broken)


def test_every_lookup_is_audited_without_a_case_and_refusals_say_who_can_ask(engine, clock):
    a = access(engine, clock)
    assert a.check("/order", user="U0ALICE001", channel="C0OPS", query="#1034", members=members) is None
    refusal = a.check("/playbook", user="U0SUPPORT1", channel="C0OPS", query="refund window", members=members)
    assert refusal == ("Only <@U0ALICE001>, <!subteam^S0OPSTEAM1>, <@U0HEADOPS1> can use /playbook "
                       "(set in the approval tiers of the policy file); ask one of them.")
    assert audited(engine) == [
        (None, clock.now, "U0ALICE001", "lookup.order", {"query": "#1034", "channel": "C0OPS", "allowed": True}),
        (None, clock.now, "U0SUPPORT1", "lookup.playbook",
         {"query": "refund window", "channel": "C0OPS", "allowed": False}),
    ]


def test_the_audit_keeps_only_the_first_300_characters_of_the_query(engine, clock):
    access(engine, clock).check("/order", user="U0ALICE001", channel=None, query="x" * 5000, members=members)
    [(_, _, _, _, detail)] = audited(engine)
    assert detail == {"query": "x" * 300, "channel": None, "allowed": True}


@pytest.mark.parametrize("text", ["", "[access]\nlookup = []\n"])
def test_when_nobody_may_the_refusal_says_how_to_fix_it(engine, clock, text):
    a = LookupAccess(policy=parse_policy(text) if text else Policy.default(), engine=engine, clock=clock)
    assert a.check("/order", user="U0ALICE001", channel="C0OPS", query="1", members=members) == (
        "Nobody can use /order yet: name the people, user groups or channels in `[access] lookup` in the "
        "policy file (by default, the approvers of each tier).")
