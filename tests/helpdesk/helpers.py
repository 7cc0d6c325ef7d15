"""Helpdesk connectors wired to their fakes (over a real local server or the fake's
transport); waits cost no real time: the fake's clock moves instead."""

from __future__ import annotations

from integrations.gorgias.client import GorgiasAPI
from integrations.gorgias.connector import Gorgias, connector_for as gorgias_connector
from integrations.gorgias.tickets import GorgiasHelpdesk
from integrations.zendesk.client import ZendeskAPI
from integrations.zendesk.connector import Zendesk, connector_for as zendesk_connector
from integrations.zendesk.tickets import ZendeskHelpdesk
from tests.fakes import gorgias as fg, zendesk as fz

GORGIAS_TOKEN = "gtok_" + "Q1w2E3r4T5y6U7i8O9p0A1s2"


def gorgias(fake: fg.FakeGorgias, base_url: str, *, key: str = fg.API_KEY, **kw) -> GorgiasHelpdesk:
    api = GorgiasAPI(base_url, fg.EMAIL, key, sleep=fake.advance, monotonic=fake.monotonic, **kw)
    return GorgiasHelpdesk(api)


def zendesk(fake: fz.FakeZendesk, base_url: str, *, token: str = fz.API_TOKEN, **kw) -> ZendeskHelpdesk:
    api = ZendeskAPI(base_url, fz.EMAIL, token, sleep=fake.advance, monotonic=fake.monotonic, **kw)
    return ZendeskHelpdesk(api)


def gorgias_conn(fake, base_url, *, clock, token: str | None = GORGIAS_TOKEN, **kw):
    return gorgias_connector(Gorgias(gorgias(fake, base_url, **kw), token=token, clock=clock))


def zendesk_conn(fake, base_url, *, clock, secret: str | None = fz.WEBHOOK_SECRET, **kw):
    return zendesk_connector(Zendesk(zendesk(fake, base_url, **kw), secret=secret, clock=clock))
