"""The compliance topics over HTTP: `POST /webhooks/shopify/compliance` verifies the HMAC like
every Shopify webhook (401 and nothing done on a bad one), refuses a malformed body (400),
and runs customers/data_request, customers/redact and shop/redact before its 200. Against
sample-store cases, on both databases."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from bot.schema import audit_log, cases, shopify_tokens
from bot.settings import Settings
from bot.shopify_connect import routes
from bot.store.tokens import TokenCipher, TokenRepo
from bot.wsgi import Router
from integrations.shopify import compliance
from integrations.shopify.auth import Grant
from integrations.shopify.webhooks import MalformedWebhook, sign
from tests.bot.test_redact import LIAM, LIAM_EMAIL, dump, shop  # noqa: F401 (the fixture)
from tests.sample.helpers import NOW

SECRET = "client-secret-do-not-print"
SHOP = "acme-test.myshopify.com"
KEY = TokenCipher.generate()


def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, shopify_shop=SHOP, shopify_client_id="client-id",
                    shopify_api_secret=SECRET, shopify_auth_mode="authorization_code",
                    returnsbot_public_url="https://bot.example", returnsbot_encryption_key=KEY)


@pytest.fixture
def router(shop) -> Router:  # noqa: F811
    r = Router()
    for method, path, handler in routes(settings(str(shop.engine.url.render_as_string(hide_password=False))),
                                        shop.engine, clock=lambda: NOW):
        r.add(method, path, handler)
    return r


def post(router: Router, topic: str, payload, *, secret: str = SECRET, hmac: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/shopify/compliance", "QUERY_STRING": "",
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(body),
               "HTTP_X_SHOPIFY_TOPIC": topic, "HTTP_X_SHOPIFY_SHOP_DOMAIN": SHOP}
    environ["HTTP_X_SHOPIFY_HMAC_SHA256"] = hmac if hmac is not None else sign(secret.encode(), body)
    got = {}

    def start_response(status, headers):
        got["status"] = int(status.split()[0])

    out = b"".join(router(environ, start_response))
    return got["status"], json.loads(out)


REDACT = {"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 6001000009, "email": LIAM_EMAIL,
                                                                "phone": "555-625-1199"},
          "orders_to_redact": [5001000037]}


def test_a_bad_hmac_is_401_and_changes_nothing(router, shop):  # noqa: F811
    before = dump(shop.engine)
    for kwargs in ({"secret": "another-secret"}, {"hmac": ""}, {"hmac": "not base64!"}):
        status, _ = post(router, "customers/redact", REDACT, **kwargs)
        assert status == 401
    assert dump(shop.engine) == before


@pytest.mark.parametrize("topic, payload", [
    ("customers/redact", b"{not json"),
    ("customers/redact", {"customer": {"id": 1}}),  # no shop_domain
    ("customers/redact", {"shop_domain": SHOP, "customer": {}}),  # nobody named
    ("customers/redact", {"shop_domain": SHOP, "customer": {"id": "x1"}}),
    ("orders/create", {"shop_domain": SHOP}),  # not a compliance topic
])
def test_a_malformed_request_is_400_and_changes_nothing(router, shop, topic, payload):  # noqa: F811
    before = dump(shop.engine)
    status, body = post(router, topic, payload)
    assert status == 400 and "malformed" in body["error"]
    assert dump(shop.engine) == before


def test_customers_redact_redacts_before_the_200(router, shop):  # noqa: F811
    status, body = post(router, "customers/redact", REDACT)
    assert status == 200 and body["done"] == "2 of 2 cases redacted"
    after = dump(shop.engine)
    assert LIAM not in after and "O'Brien" not in after and LIAM_EMAIL not in after
    status, body = post(router, "customers/redact", REDACT)  # Shopify retries: the same result
    assert status == 200 and body["done"] == "0 of 2 cases redacted"


def test_a_request_for_another_shop_changes_nothing(router, shop):  # noqa: F811
    before = dump(shop.engine)
    status, body = post(router, "customers/redact", {**REDACT, "shop_domain": "other.myshopify.com"})
    assert status == 200 and body["done"] == "nothing held for that shop"
    assert dump(shop.engine) == before


def test_data_request_is_recorded(router, shop):  # noqa: F811
    payload = {"shop_id": 954889, "shop_domain": SHOP, "orders_requested": [5001000037],
               "customer": {"id": 6001000009, "email": LIAM_EMAIL, "phone": None}, "data_request": {"id": 9999}}
    status, body = post(router, "customers/data_request", payload)
    assert status == 200 and "2 cases" in body["done"]
    with shop.engine.connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.event == "compliance.customers_data_request")).all()
        assert row.detail["request"] == "9999"
        assert conn.execute(select(cases.c.customer_name).where(cases.c.customer_id == LIAM)).all()  # unchanged


def test_shop_redact_redacts_everyone_and_forgets_the_tokens(router, shop):  # noqa: F811
    TokenRepo(shop.engine, TokenCipher(KEY)).save(SHOP, Grant("shpat_x", frozenset(), NOW, None), now=NOW)
    status, body = post(router, "shop/redact", {"shop_id": 954889, "shop_domain": SHOP})
    assert status == 200 and body["done"].endswith("cases redacted")
    with shop.engine.connect() as conn:
        names = {r.customer_name for r in conn.execute(select(cases.c.customer_name))}
        assert names <= {"[redacted]", None}
        assert conn.execute(select(shopify_tokens)).all() == []


def test_the_server_serves_the_compliance_route(shop):  # noqa: F811
    from bot.container import Container
    from bot.server import build_router

    c = Container.build(settings(str(shop.engine.url.render_as_string(hide_password=False))), engine=shop.engine,
                        store=shop.store, clock=lambda: NOW)
    router = build_router(c)
    assert ("POST", "/webhooks/shopify/compliance") in router.routes
    assert ("GET", "/shopify/install") in router.routes and ("GET", "/shopify/callback") in router.routes
    status, _ = post(router, "customers/redact", REDACT, secret="wrong")
    assert status == 401


# --- decoding -----------------------------------------------------------------------------------


def test_ids_become_gids_and_an_email_alone_is_enough():
    request = compliance.decode("customers/redact", {**REDACT, "customer": {"id": "6001000009"},
                                                     "orders_to_redact": ["5001000037", 5001000037]})
    assert request.subject.customer_ids == (LIAM,)
    assert request.subject.order_ids == ("gid://shopify/Order/5001000037",)
    only_email = compliance.decode("customers/redact", {"shop_domain": SHOP, "customer": {"email": LIAM_EMAIL}})
    assert only_email.subject.emails == (LIAM_EMAIL,) and only_email.subject.customer_ids == ()
    shop_wide = compliance.decode("shop/redact", {"shop_domain": "ACME-TEST.myshopify.com"})
    assert shop_wide.whole_shop and shop_wide.shop_domain == SHOP and shop_wide.subject is None


def test_a_request_naming_nobody_is_malformed():
    with pytest.raises(MalformedWebhook):
        compliance.decode("customers/redact", {"shop_domain": SHOP, "customer": {"id": None, "email": ""}})
