"""Shopify tokens from the authorization-code install, encrypted at rest.

The access and refresh tokens are Fernet ciphertext (AES-128-CBC + HMAC-SHA256, from
`cryptography`) under RETURNSBOT_ENCRYPTION_KEY; several keys, comma-separated, let a key
be rotated (the first encrypts, any decrypts). A row that no key opens is reported as one
line naming the setting, never as a traceback.

Writes are compare-and-set on `generation`, and refreshing is claimed with a lease, so two
replicas never overwrite the newest refresh token with an older one (see
integrations/shopify/auth.py `AuthorizationCode`).
"""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, and_, delete, or_, select, update

from bot.schema import shopify_tokens
from bot.store.sql import insert_ignore
from integrations.shopify.auth import Grant, StoredGrant, parse_scopes


class TokenKeyError(RuntimeError):
    """Stored tokens that RETURNSBOT_ENCRYPTION_KEY cannot decrypt."""


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("an encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])

    def __repr__(self) -> str:  # never the key
        return "TokenCipher()"

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise TokenKeyError("setting RETURNSBOT_ENCRYPTION_KEY: the stored Shopify tokens were encrypted with "
                                "another key (add the old key after the new one, comma-separated, or install the "
                                "app again)") from None

    @staticmethod
    def generate() -> str:
        return Fernet.generate_key().decode("ascii")


class TokenRepo:
    """`TokenStore` on the database."""

    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self.engine = engine
        self.cipher = cipher

    def load(self, shop: str) -> StoredGrant | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(shopify_tokens).where(shopify_tokens.c.shop == shop)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredGrant(
            grant=Grant(
                access_token=self.cipher.decrypt(m["access_token"]),
                scopes=parse_scopes(m["scope"]),
                issued_at=m["issued_at"],
                expires_at=m["expires_at"],
                refresh_token=self.cipher.decrypt(m["refresh_token"]) if m["refresh_token"] else None,
                refresh_expires_at=m["refresh_expires_at"],
            ),
            generation=m["generation"],
        )

    def save(self, shop: str, grant: Grant, *, now: datetime) -> StoredGrant:
        """An install: these tokens replace whatever was stored (and any refresh claim)."""
        values = self._values(grant, now)
        with self.engine.begin() as conn:
            inserted = conn.execute(
                insert_ignore(self.engine, shopify_tokens, ["shop"]).values(shop=shop, generation=1, **values)
                .returning(shopify_tokens.c.generation)
            ).scalar()
            if inserted is None:
                conn.execute(update(shopify_tokens).where(shopify_tokens.c.shop == shop).values(
                    generation=shopify_tokens.c.generation + 1, **values))
            generation = conn.execute(
                select(shopify_tokens.c.generation).where(shopify_tokens.c.shop == shop)).scalar_one()
        return StoredGrant(grant, generation)

    def claim_refresh(self, shop: str, generation: int, *, holder: str, until: datetime, now: datetime) -> bool:
        """Only on the generation the caller read, and only if no live claim is held."""
        t = shopify_tokens.c
        with self.engine.begin() as conn:
            return conn.execute(
                update(shopify_tokens)
                .where(t.shop == shop, t.generation == generation,
                       or_(t.refresh_claimed_until.is_(None), t.refresh_claimed_until <= now, t.refresh_holder == holder))
                .values(refresh_holder=holder, refresh_claimed_until=until)
            ).rowcount == 1

    def replace(self, shop: str, generation: int, grant: Grant, *, now: datetime) -> bool:
        """Compare-and-set: the refreshed pair is written only over the generation it was
        refreshed from; the claim is released with it."""
        t = shopify_tokens.c
        with self.engine.begin() as conn:
            return conn.execute(
                update(shopify_tokens).where(t.shop == shop, t.generation == generation)
                .values(generation=t.generation + 1, **self._values(grant, now))
            ).rowcount == 1

    def release(self, shop: str, holder: str) -> None:
        t = shopify_tokens.c
        with self.engine.begin() as conn:
            conn.execute(update(shopify_tokens).where(and_(t.shop == shop, t.refresh_holder == holder))
                         .values(refresh_holder=None, refresh_claimed_until=None))

    def delete(self, shop: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(shopify_tokens).where(shopify_tokens.c.shop == shop)).rowcount > 0

    def _values(self, grant: Grant, now: datetime) -> dict:
        return {
            "access_token": self.cipher.encrypt(grant.access_token),
            "scope": ",".join(sorted(grant.scopes)),
            "issued_at": grant.issued_at,
            "expires_at": grant.expires_at,
            "refresh_token": self.cipher.encrypt(grant.refresh_token) if grant.refresh_token else None,
            "refresh_expires_at": grant.refresh_expires_at,
            "refresh_holder": None,
            "refresh_claimed_until": None,
            "updated_at": now,
        }
