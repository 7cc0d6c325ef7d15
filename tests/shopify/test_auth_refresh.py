"""The authorization-code install's tokens: stored encrypted, refreshed before they expire
by one replica at a time, the rotated refresh token written with compare-and-set so the
newest is never lost — under both readings of Shopify's 2026-08-28 change (strict: a
refresh token works once; lenient: the previous one works until its replacement is used).
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.schema import shopify_tokens
from bot.store.tokens import TokenCipher, TokenKeyError, TokenRepo
from integrations.shopify.auth import AuthorizationCode, TokenEndpoint, TokenEndpointError
from policy.ports import IntegrationError
from tests.fakes.shopify_oauth import FakeTokenEndpoint, utc

SHOP = "acme-test.myshopify.com"
BASE = f"https://{SHOP}"
KEY = TokenCipher.generate()


class Clock:
    def __init__(self) -> None:
        self.now = utc(2026, 12, 2, 9, 0)
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self.now

    def advance(self, **kw) -> None:
        with self._lock:
            self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["strict", "lenient"])
def fake(request) -> FakeTokenEndpoint:
    return FakeTokenEndpoint(rotation=request.param)


@pytest.fixture
def repo(engine) -> TokenRepo:
    return TokenRepo(engine, TokenCipher(KEY))


def installed(fake, repo, clock):
    """What the install's callback does: exchange a code with expiring=1 and save the grant."""
    grant = TokenEndpoint(BASE, fake.client_id, fake.client_secret, http=fake.http_client(), now=clock) \
        .authorization_code(fake.issue_code())
    repo.save(SHOP, grant, now=clock())
    return grant


def replica(fake, repo, clock, name: str, **kw) -> AuthorizationCode:
    endpoint = TokenEndpoint(BASE, fake.client_id, fake.client_secret, http=fake.http_client(), now=clock)
    return AuthorizationCode(endpoint, repo, shop=SHOP, holder=name, now=clock, sleep=lambda s: clock.advance(seconds=s),
                             install_url="https://bot.example/shopify/install", **kw)


def refreshes(fake) -> list:
    return [c for c in fake.calls if c.grant == "refresh_token"]


def test_the_code_exchange_asks_for_an_expiring_token(fake, repo, clock):
    grant = installed(fake, repo, clock)
    [call] = fake.calls
    assert call.form["expiring"] == "1" and call.form["code"].startswith("code")
    assert grant.expires_at == clock.now + timedelta(hours=1)
    assert grant.refresh_token and grant.refresh_expires_at == clock.now + timedelta(days=30)


def test_tokens_are_encrypted_at_rest(fake, repo, engine, clock):
    grant = installed(fake, repo, clock)
    with engine.connect() as conn:
        row = conn.execute(select(shopify_tokens)).one()._mapping
    stored = " ".join(str(v) for v in row.values())
    assert grant.access_token not in stored and grant.refresh_token not in stored
    loaded = repo.load(SHOP)
    assert loaded.grant.access_token == grant.access_token and loaded.grant.refresh_token == grant.refresh_token
    assert loaded.generation == 1 and loaded.grant.scopes == grant.scopes


def test_a_wrong_key_is_one_line_naming_the_setting_and_an_old_key_still_opens(fake, engine, clock):
    old = TokenCipher.generate()
    grant = installed(fake, TokenRepo(engine, TokenCipher(old)), clock)
    with pytest.raises(TokenKeyError) as exc:
        TokenRepo(engine, TokenCipher(KEY)).load(SHOP)
    assert str(exc.value).startswith("setting RETURNSBOT_ENCRYPTION_KEY:") and "\n" not in str(exc.value)
    assert old not in str(exc.value)
    # Rotation: the new key first (it encrypts), the old one after it (it still decrypts).
    rotated = TokenRepo(engine, TokenCipher(f"{KEY},{old}"))
    assert rotated.load(SHOP).grant.access_token == grant.access_token


def test_a_due_token_is_refreshed_and_the_rotated_pair_stored(fake, repo, clock):
    first = installed(fake, repo, clock)
    p = replica(fake, repo, clock, "a")
    assert p.token() == first.access_token and refreshes(fake) == []
    clock.advance(minutes=56)  # 4 minutes left
    new = p.token()
    assert new != first.access_token and len(refreshes(fake)) == 1
    assert refreshes(fake)[0].form["refresh_token"] == first.refresh_token
    stored = repo.load(SHOP)
    assert stored.generation == 2 and stored.grant.access_token == new
    assert stored.grant.refresh_token != first.refresh_token
    assert stored.grant.refresh_token in fake.valid_refresh
    # And again an hour later, with the stored (rotated) refresh token.
    clock.advance(minutes=58)
    assert p.token() != new and repo.load(SHOP).generation == 3


def test_two_replicas_refreshing_at_once_refresh_once_and_keep_the_newest_token(fake, repo, clock):
    installed(fake, repo, clock)
    a, b = replica(fake, repo, clock, "replica-a"), replica(fake, repo, clock, "replica-b")
    a.token(), b.token()
    clock.advance(minutes=59, seconds=30)  # due for both; still valid for 30 s
    entered, release = threading.Event(), threading.Event()

    def hold():
        entered.set()
        release.wait(5)

    fake.before_reply = hold
    results = {}
    ta = threading.Thread(target=lambda: results.__setitem__("a", a.token()))
    ta.start()
    assert entered.wait(5)  # a holds the refresh lease and is mid-refresh
    results["b"] = b.token()  # b does not refresh: it keeps the still-valid token
    fake.before_reply = None
    release.set()
    ta.join(5)
    assert len(refreshes(fake)) == 1
    stored = repo.load(SHOP)
    assert results["a"] == stored.grant.access_token
    # Once the old token has expired, b picks up a's refreshed token from the database.
    clock.advance(seconds=31)
    assert b.token() == stored.grant.access_token and len(refreshes(fake)) == 1
    assert stored.grant.refresh_token in fake.valid_refresh


def test_a_replica_whose_lease_ran_out_does_not_overwrite_the_newer_pair(fake, repo, clock):
    """b claims the refresh and stalls past its lease; a refreshes and stores gen 2; then b's
    refresh answers (lenient) or is refused (strict). Either way a's pair stays stored and
    b uses it."""
    installed(fake, repo, clock)
    a, b = replica(fake, repo, clock, "replica-a"), replica(fake, repo, clock, "replica-b")
    clock.advance(minutes=61)  # expired for both
    winner = {}

    def meanwhile():
        fake.before_reply = None  # a's own request goes straight through
        clock.advance(seconds=31)  # b's lease has run out
        winner["token"] = a.token()

    fake.before_reply = meanwhile
    got = b.token()
    stored = repo.load(SHOP)
    assert stored.grant.access_token == winner["token"] == got
    assert stored.generation == 2
    assert stored.grant.refresh_token in fake.valid_refresh  # the next refresh will work
    clock.advance(minutes=58)
    assert b.token() != got and repo.load(SHOP).generation == 3


def test_a_lost_refresh_answer_is_retried_with_the_stored_refresh_token(fake, repo, clock):
    """Shopify rotated the token but the answer never arrived. Lenient reading: the stored
    (previous) refresh token still works. Strict reading: it is refused, and the error says
    to install again."""
    first = installed(fake, repo, clock)
    p = replica(fake, repo, clock, "a")
    clock.advance(minutes=61)
    fake.drop_reply_once = True
    with pytest.raises(TokenEndpointError) as exc:
        p.token()
    assert exc.value.retryable
    assert repo.load(SHOP).grant.refresh_token == first.refresh_token  # nothing half-written
    if fake.rotation == "lenient":
        assert p.token() != first.access_token
        assert repo.load(SHOP).generation == 2
    else:
        with pytest.raises(TokenEndpointError) as exc:
            p.token()
        assert not exc.value.retryable and exc.value.code == "invalid_grant"
        assert "install the app again" in str(exc.value) and "https://bot.example/shopify/install" in str(exc.value)


def test_a_401_forces_a_refresh_even_before_expiry(fake, repo, clock):
    first = installed(fake, repo, clock)
    p = replica(fake, repo, clock, "a")
    assert p.token() == first.access_token
    clock.advance(minutes=10)
    p.on_unauthorized(first.access_token)
    assert p.token() != first.access_token and len(refreshes(fake)) == 1


def test_not_installed_says_where_to_install(fake, repo, clock):
    with pytest.raises(IntegrationError) as exc:
        replica(fake, repo, clock, "a").token()
    assert not exc.value.retryable and "https://bot.example/shopify/install" in str(exc.value)


def test_an_expired_refresh_token_says_to_install_again(fake, repo, clock):
    installed(fake, repo, clock)
    clock.advance(days=31)
    with pytest.raises(IntegrationError) as exc:
        replica(fake, repo, clock, "a").token()
    assert not exc.value.retryable and "install the app again" in str(exc.value)
    assert refreshes(fake) == []
