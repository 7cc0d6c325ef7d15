"""`returnsbot shopify webhooks sync` and `returnsbot shopify key`."""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.settings import Settings, SettingsError


def add_parser(sub) -> None:
    shopify = sub.add_parser("shopify", help="connecting Shopify: webhook subscriptions, the token encryption key")
    verbs = shopify.add_subparsers(dest="shopify_command", required=True)
    webhooks = verbs.add_parser("webhooks", help="the app's webhook subscriptions")
    actions = webhooks.add_subparsers(dest="webhooks_action", required=True)
    actions.add_parser("sync", help="create the subscriptions returnsbot needs that are missing (safe to run again)")
    verbs.add_parser("key", help="print a new key for RETURNSBOT_ENCRYPTION_KEY")


def print_key(out: TextIO) -> int:
    from bot.store.tokens import TokenCipher

    out.write(TokenCipher.generate() + "\n")
    return 0


def run(args: argparse.Namespace, settings: Settings, out: TextIO, *, http=None) -> int:
    if args.shopify_command == "key":
        return print_key(out)
    return sync_webhooks(settings, out, http=http)


def sync_webhooks(settings: Settings, out: TextIO, *, http=None) -> int:
    from bot.shopify_connect import graphql_client
    from integrations.shopify import subscriptions

    if not settings.shopify_configured:
        raise SettingsError("setting SHOPIFY_SHOP: `shopify webhooks sync` needs a shop (no SHOPIFY_* setting is "
                            "set, so returnsbot uses the sample store)")
    if settings.public_url is None:
        raise SettingsError("setting RETURNSBOT_PUBLIC_URL: required for `shopify webhooks sync`: the https "
                            "address Shopify delivers webhooks to, such as https://returnsbot.example.com")
    callback = settings.public_url + subscriptions.WEBHOOK_PATH
    client = graphql_client(settings, **({"http": http} if http is not None else {}))
    try:
        report = subscriptions.sync(client, callback, api_version=settings.shopify_api_version)
    finally:
        client.close()
    for line in report.lines:
        out.write(f"{line.status:<7}  {line.topic}: {line.text}\n")
    out.write(f"{report.count('created')} created, {report.count('ok')} already there, "
              f"{report.count('FAIL')} failed\n")
    out.write(f"note     compliance topics (customers/data_request, customers/redact, shop/redact) can only be set "
              f"in the app's configuration: Dev Dashboard → the app → Versions → compliance webhooks, "
              f"{settings.public_url}{subscriptions.COMPLIANCE_PATH}\n")
    return 1 if report.failed else 0
