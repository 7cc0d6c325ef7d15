"""Settings from the environment and an optional `.env`.

Secrets are SecretStr (never printed) and have no defaults. A missing, malformed or
incomplete setting is reported at start-up as one line naming it (see `load_settings`);
what needs a connection to find out (the database, Slack's answer to the app token) is
`bot.preflight`'s.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///returnsbot.db"
DEFAULT_SHOPIFY_API_VERSION = "2026-10"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_KEY_PREFIXES = ("sk_", "rk_")
DEFAULT_LOOP_API_URL = "https://api.loopreturns.com/api/v1"  # reference/loop: the version segment changes
DEFAULT_SHIPSTATION_API_URL = "https://ssapi.shipstation.com"
DEFAULT_SHIPSTATION_V2_API_URL = "https://api.shipstation.com"
DEFAULT_SHIPSTATION_JWKS_URL = "https://api.shipengine.com/jwks"  # reference/shipstation: public verifiers
MIN_SHIPSTATION_TOKEN = 24
# Claude (bot/llm). Current models from reference/anthropic/messages-api.md: Haiku 5.5 is
# the line-up's model for high-volume classification and routing; Sonnet 5.5 writes the
# customer-facing drafts (speed and quality at a fifth of Opus's price). A dateless id from
# the 4.6 generation on is itself a pinned snapshot.
DEFAULT_LLM_DRAFT_MODEL = "claude-sonnet-5-5"
DEFAULT_LLM_CLASSIFY_MODEL = "claude-haiku-5-5"
RETIRED_LLM_MODELS = ("claude-opus-4-1", "claude-mythos-preview")  # retired 2026-08-05 / EOL 2026-06-30
MAX_LLM_RETRY_SECONDS = 30.0  # past this a ticket is triaged and drafted without Claude
MIN_WEBHOOK_TOKEN = MIN_SHIPSTATION_TOKEN  # a secret in a URL (Gorgias signs nothing either)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_POLL_INTERVAL, MAX_POLL_INTERVAL = 10, 86_400  # below 10 s is a busy loop; above a day, a typo
MAX_RETRY_BUDGET_HOURS = 168.0  # a week: longer than that, a person should look

# Any of these set means a real shop: the sample store is only for a configuration
# without a single Shopify setting, so a deploy missing one secret never posts demo cases.
SHOPIFY_FIELDS = ("shopify_shop", "shopify_access_token", "shopify_api_secret", "shopify_api_url",
                  "shopify_api_version", "shopify_client_id", "shopify_auth_mode")
# Environment names we own: one we don't know is a typo, and a typo must not pass silently.
OWN_PREFIXES = ("SHOPIFY_", "RETURNSBOT_", "SHIPSTATION_", "STRIPE_", "GORGIAS_", "ZENDESK_")


class SettingsError(RuntimeError):
    """One line per problem, naming the setting; never the value of a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL

    shopify_shop: str | None = None  # e.g. "acme.myshopify.com"
    shopify_access_token: SecretStr | None = None
    shopify_api_secret: SecretStr | None = None  # webhook HMAC key (the app's client secret)
    shopify_api_version: str = DEFAULT_SHOPIFY_API_VERSION
    shopify_api_url: AnyHttpUrl | None = None  # base-URL override; default https://{shop}
    # How the bot gets its Admin API token (see `shopify_auth`): the Dev Dashboard app's
    # client ID (its secret is SHOPIFY_API_SECRET), and the mode when it can't be inferred.
    shopify_client_id: str | None = None
    shopify_auth_mode: Literal["static", "client_credentials", "authorization_code"] | None = None
    # Where Shopify reaches this bot (https): webhook subscriptions and the install callback.
    returnsbot_public_url: AnyHttpUrl | None = None
    # Fernet key(s), comma-separated (the first encrypts): Shopify tokens stored at rest.
    returnsbot_encryption_key: SecretStr | None = None

    returnsbot_policy: Path | None = None  # the policy file; default: the built-in defaults
    returnsbot_poll_interval: int = 300  # seconds between catch-up polls in `serve`
    returnsbot_log_level: str = "INFO"
    returnsbot_log_format: Literal["text", "json"] = "text"
    returnsbot_retry_budget_hours: float = 24.0  # how long background work keeps retrying
    returnsbot_retention_days: int = 30  # raw webhook bodies are pruned after this
    # How long a background job's claim lasts without renewal (renewed every third of it
    # while the job runs): how soon the work of a replica that died is taken over.
    returnsbot_job_lease_seconds: int = Field(default=10, ge=3, le=300)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # set: Socket Mode
    slack_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SLACK_API_URL)

    # --- Stripe (integrations/stripe) -------------------------------------------------
    # A secret (sk_…) or restricted (rk_…) key; the README lists the least permissions.
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None  # the endpoint's signing secret, whsec_…
    stripe_api_base: AnyHttpUrl = AnyHttpUrl(DEFAULT_STRIPE_API_BASE)  # a local fake in tests
    # --- end Stripe ---------------------------------------------------------------------
    # --- ShipStation (integrations/shipstation) ---------------------------------------------
    # V1 (Basic auth: key + secret) lists shipments and orders and sends SHIP_NOTIFY; the
    # optional V2 key reads carrier tracking (status, delivery dates). Webhooks arrive at
    # /webhooks/shipstation/<SHIPSTATION_WEBHOOK_TOKEN>; V2 ones are checked against the JWKS.
    shipstation_api_key: SecretStr | None = None
    shipstation_api_secret: SecretStr | None = None
    shipstation_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SHIPSTATION_API_URL)
    shipstation_v2_api_key: SecretStr | None = None
    shipstation_v2_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SHIPSTATION_V2_API_URL)
    shipstation_webhook_token: SecretStr | None = None
    shipstation_jwks_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SHIPSTATION_JWKS_URL)

    @field_validator("shipstation_api_key", "shipstation_api_secret", "shipstation_v2_api_key",
                     "shipstation_webhook_token", mode="before")
    @classmethod
    def _shipstation_empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("shipstation_webhook_token")
    @classmethod
    def _shipstation_token(cls, v: SecretStr | None) -> SecretStr | None:
        # It is the only thing guarding the V1 route (V1 signs nothing): long and URL-safe.
        if v is not None:
            text = v.get_secret_value()
            if len(text) < MIN_SHIPSTATION_TOKEN or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
                raise ValueError(f"expected at least {MIN_SHIPSTATION_TOKEN} letters, digits, '-' or '_' "
                                 "(make one with `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`)")
        return v

    def _shipstation_problems(self) -> list[str]:
        key, secret = self.shipstation_api_key, self.shipstation_api_secret
        if key and not secret:
            return ["setting SHIPSTATION_API_SECRET: required when SHIPSTATION_API_KEY is set (V1 signs in with both)"]
        if secret and not key:
            return ["setting SHIPSTATION_API_KEY: required when SHIPSTATION_API_SECRET is set (V1 signs in with both)"]
        if self.shipstation_webhook_token and not (key or self.shipstation_v2_api_key):
            return ["setting SHIPSTATION_API_KEY: required when SHIPSTATION_WEBHOOK_TOKEN is set (a SHIP_NOTIFY "
                    "webhook is fetched back with the V1 key and secret)"]
        return []

    @property
    def shipstation_configured(self) -> bool:
        return bool((self.shipstation_api_key and self.shipstation_api_secret) or self.shipstation_v2_api_key)

    # --- end ShipStation ----------------------------------------------------------------------
    # --- Helpdesks (integrations/gorgias, integrations/zendesk) ----------------------------
    # Gorgias: Basic auth with the user's email and a REST API key; its HTTP integration
    # posts to /webhooks/gorgias/<GORGIAS_WEBHOOK_TOKEN>. Zendesk: Basic auth with
    # "{email}/token" and an API token; webhooks signed with ZENDESK_WEBHOOK_SECRET.
    gorgias_domain: str | None = None  # "acme" for acme.gorgias.com
    gorgias_email: str | None = None
    gorgias_api_key: SecretStr | None = None
    gorgias_api_url: AnyHttpUrl | None = None  # default https://{GORGIAS_DOMAIN}.gorgias.com
    gorgias_webhook_token: SecretStr | None = None
    zendesk_subdomain: str | None = None  # "acme" for acme.zendesk.com
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_api_url: AnyHttpUrl | None = None  # default https://{ZENDESK_SUBDOMAIN}.zendesk.com
    zendesk_webhook_secret: SecretStr | None = None

    @field_validator("gorgias_domain", "gorgias_email", "gorgias_api_key", "gorgias_api_url", "gorgias_webhook_token",
                     "zendesk_subdomain", "zendesk_email", "zendesk_api_token", "zendesk_api_url",
                     "zendesk_webhook_secret", mode="before")
    @classmethod
    def _helpdesk_empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("gorgias_domain", "zendesk_subdomain")
    @classmethod
    def _helpdesk_account(cls, v: str | None) -> str | None:
        if v is None:
            return None
        for suffix in (".gorgias.com", ".zendesk.com"):
            v = v.strip().removeprefix("https://").removeprefix("http://").rstrip("/").removesuffix(suffix)
        if not v or not all(c.isascii() and (c.isalnum() or c == "-") for c in v):
            raise ValueError("expected the account name only, such as acme (for acme.gorgias.com / acme.zendesk.com)")
        return v.lower()

    @field_validator("gorgias_email", "zendesk_email")
    @classmethod
    def _helpdesk_email(cls, v: str | None) -> str | None:
        if v is not None and ("@" not in v or " " in v.strip()):
            raise ValueError("expected the email address of the user the API key belongs to")
        return v.strip() if v else v

    @field_validator("gorgias_webhook_token")
    @classmethod
    def _gorgias_token(cls, v: SecretStr | None) -> SecretStr | None:
        # The only thing guarding the route (Gorgias signs nothing): long and URL-safe.
        if v is not None:
            text = v.get_secret_value()
            if len(text) < MIN_WEBHOOK_TOKEN or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
                raise ValueError(f"expected at least {MIN_WEBHOOK_TOKEN} letters, digits, '-' or '_' "
                                 "(make one with `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`)")
        return v

    def _helpdesk_problems(self) -> list[str]:
        problems = []
        for vendor, account, needs in (
                ("GORGIAS", "GORGIAS_DOMAIN", ("GORGIAS_EMAIL", "GORGIAS_API_KEY")),
                ("ZENDESK", "ZENDESK_SUBDOMAIN", ("ZENDESK_EMAIL", "ZENDESK_API_TOKEN"))):
            given = [n.upper() for n in type(self).model_fields if n.upper().startswith(vendor + "_")
                     and getattr(self, n) is not None]
            if not given:
                continue
            missing = [n for n in (account, *needs) if getattr(self, n.lower()) is None]
            if missing:
                present = [n for n in given if n not in missing]
                problems.append(f"setting {' and '.join(missing)}: required when {', '.join(present)} "
                                f"{'is' if len(present) == 1 else 'are'} set ({vendor.title()} needs the account "
                                f"and the API user's email and key)")
        return problems

    # --- end Helpdesks ------------------------------------------------------------------------
    # --- Loop Returns (integrations/loop) -------------------------------------------------------
    # An API key with the Returns scope (sent as `X-Authorization`, no Bearer); the webhook
    # secret from Loop's Developer Tools signs POST /webhooks/loop. The whole base is
    # configurable: Loop is moving from /api/v1 to dated versions (/api/2026-10).
    loop_api_key: SecretStr | None = None
    loop_webhook_secret: SecretStr | None = None
    loop_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_LOOP_API_URL)

    @field_validator("loop_api_key", "loop_webhook_secret", mode="before")
    @classmethod
    def _loop_empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("loop_api_key")
    @classmethod
    def _loop_key(cls, v: SecretStr | None) -> SecretStr | None:
        # The header takes the bare key; a pasted "Bearer …" would be refused by Loop as 401.
        if v is not None and (v.get_secret_value().lower().startswith("bearer ") or " " in v.get_secret_value().strip()):
            raise ValueError("expected the bare API key from Loop's Developer Tools (no 'Bearer ' prefix, no spaces)")
        return v

    def _loop_problems(self) -> list[str]:
        if self.loop_webhook_secret and not self.loop_api_key:
            return ["setting LOOP_API_KEY: required when LOOP_WEBHOOK_SECRET is set (each webhook's return is read "
                    "again from Loop's API)"]
        if self.loop_api_key and self.loop_api_url.scheme != "https" and self.loop_api_url.host not in (
                "127.0.0.1", "localhost"):
            return [f"setting LOOP_API_URL: expected an https:// address (the API key is sent with every request), "
                    f"got {self.loop_api_url.scheme}://{self.loop_api_url.host}"]
        return []

    @property
    def loop_configured(self) -> bool:
        return self.loop_api_key is not None

    # --- end Loop Returns -----------------------------------------------------------------------

    # The helpdesk agent a ticket reply is sent as when the approver's Slack email matches no
    # agent (or Slack does not say it): bot/services/ticket_send.py.
    returnsbot_helpdesk_agent_email: str | None = None

    # --- Claude (bot/llm) -------------------------------------------------------------------
    # Without a key every ticket is classified by the rules and answered from the templates.
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: AnyHttpUrl | None = None  # a local fake in tests; default the SDK's
    returnsbot_llm_model: str | None = None  # drafts (and triage, unless the next one is set)
    returnsbot_llm_classify_model: str | None = None
    returnsbot_llm_timeout: float = 20.0  # seconds one request may take
    returnsbot_llm_retry_seconds: float = MAX_LLM_RETRY_SECONDS  # waiting on 429/529 before the fallback

    @field_validator("anthropic_api_key", "anthropic_base_url", "returnsbot_llm_model",
                     "returnsbot_llm_classify_model", mode="before")
    @classmethod
    def _llm_empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("returnsbot_llm_model", "returnsbot_llm_classify_model")
    @classmethod
    def _llm_model(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        if not re.fullmatch(r"claude-[a-z0-9][a-z0-9.-]*", v):
            raise ValueError(f"expected a Claude model id such as {DEFAULT_LLM_DRAFT_MODEL}")
        if v in RETIRED_LLM_MODELS:
            raise ValueError(f"{v} is retired; use a current model such as {DEFAULT_LLM_DRAFT_MODEL}")
        return v

    @field_validator("returnsbot_llm_timeout")
    @classmethod
    def _llm_timeout(cls, v: float) -> float:
        if not (math.isfinite(v) and 1 <= v <= 120):
            raise ValueError(f"expected seconds from 1 to 120, got {v}")
        return v

    @field_validator("returnsbot_llm_retry_seconds")
    @classmethod
    def _llm_retry(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 <= v <= MAX_LLM_RETRY_SECONDS):
            raise ValueError(f"expected seconds from 0 to {MAX_LLM_RETRY_SECONDS:g}, got {v}")
        return v

    @property
    def llm_draft_model(self) -> str:
        return self.returnsbot_llm_model or DEFAULT_LLM_DRAFT_MODEL

    @property
    def llm_classify_model(self) -> str:
        """RETURNSBOT_LLM_CLASSIFY_MODEL; else RETURNSBOT_LLM_MODEL when set (one model for
        everything); else Haiku, the line-up's classification model."""
        return self.returnsbot_llm_classify_model or self.returnsbot_llm_model or DEFAULT_LLM_CLASSIFY_MODEL

    # --- end Claude -------------------------------------------------------------------------

    @field_validator("shopify_shop", "shopify_access_token", "shopify_api_secret", "shopify_api_url",
                     "shopify_client_id", "shopify_auth_mode", "returnsbot_public_url", "returnsbot_encryption_key",
                     "slack_bot_token", "slack_signing_secret", "slack_app_token", "stripe_api_key",
                     "stripe_webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        # `FOO=` in a .env copied from an example means "not set", not "set to nothing".
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("shopify_shop")
    @classmethod
    def _shop_domain(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        if "/" in v or " " in v or "." not in v:
            raise ValueError("expected a shop domain such as acme.myshopify.com")
        return v

    @field_validator("shopify_api_version")
    @classmethod
    def _api_version(cls, v: str) -> str:
        parts = v.split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("expected an API version such as 2025-01")
        return v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if "://" not in v:
            raise ValueError("expected a SQLAlchemy URL such as sqlite:///returnsbot.db")
        # Accept the common libpq spelling and use psycopg 3, the driver we ship.
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://") :]
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v[len("postgresql://") :]
        return v

    @field_validator("returnsbot_poll_interval")
    @classmethod
    def _poll_interval(cls, v: int) -> int:
        if not MIN_POLL_INTERVAL <= v <= MAX_POLL_INTERVAL:
            raise ValueError(f"expected whole seconds from {MIN_POLL_INTERVAL} to {MAX_POLL_INTERVAL} (a day), got {v}")
        return v

    @field_validator("returnsbot_log_level", mode="before")
    @classmethod
    def _log_level(cls, v: object) -> object:
        if isinstance(v, str) and v.strip().upper() in LOG_LEVELS:
            return v.strip().upper()
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")

    @field_validator("returnsbot_log_format", mode="before")
    @classmethod
    def _log_format(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("returnsbot_retry_budget_hours")
    @classmethod
    def _retry_budget(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 < v <= MAX_RETRY_BUDGET_HOURS):
            raise ValueError(f"expected hours above 0 and at most {MAX_RETRY_BUDGET_HOURS:g} (a week), got {v}")
        return v

    @field_validator("returnsbot_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"expected whole days, at least 1, got {v}")
        return v

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().startswith("xapp-"):
            raise ValueError("that is an app-level token (xapp-…); SLACK_BOT_TOKEN is the Bot User OAuth Token, xoxb-…")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token, xapp-… (Basic Information → App-Level Tokens)")
        return v

    @field_validator("stripe_api_key")
    @classmethod
    def _stripe_key(cls, v: SecretStr | None) -> SecretStr | None:
        # A publishable key (pk_…) reads nothing, and a webhook secret is not a key.
        if v is not None and not v.get_secret_value().startswith(STRIPE_KEY_PREFIXES):
            raise ValueError("expected a secret key (sk_…) or a restricted key (rk_…) from Stripe's "
                             "Developers → API keys")
        return v

    @field_validator("stripe_webhook_secret")
    @classmethod
    def _stripe_webhook_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("whsec_"):
            raise ValueError("expected the webhook endpoint's signing secret, whsec_… (Developers → Webhooks)")
        return v

    @field_validator("shopify_auth_mode", mode="before")
    @classmethod
    def _auth_mode(cls, v: object) -> object:
        return v.strip().lower().replace("-", "_") if isinstance(v, str) else v

    @field_validator("returnsbot_public_url")
    @classmethod
    def _public_url(cls, v: AnyHttpUrl | None) -> AnyHttpUrl | None:
        # Shopify delivers webhooks and redirects installs to HTTPS only.
        if v is not None and (v.scheme != "https" or v.query or v.fragment):
            raise ValueError("expected the bot's public https:// address, such as https://returnsbot.example.com")
        return v

    @field_validator("returnsbot_encryption_key")
    @classmethod
    def _encryption_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not all(_is_fernet_key(k) for k in v.get_secret_value().split(",")):
            raise ValueError("expected a Fernet key, 44 characters of URL-safe base64 (several: comma-separated, "
                             "the first encrypts); make one with `returnsbot shopify key`")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        problems = [*self._slack_problems(), *self._shopify_problems(), *self._shipstation_problems(),
                    *self._stripe_problems(), *self._helpdesk_problems(), *self._loop_problems()]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _slack_problems(self) -> list[str]:
        if self.slack_bot_token and not self.slack_signing_secret:
            return ["setting SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (set both, or neither)"]
        if self.slack_signing_secret and not self.slack_bot_token:
            return ["setting SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET is set (set both, or neither)"]
        if self.slack_app_token and not self.slack_bot_token:
            return ["setting SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN is set "
                    "(Socket Mode also needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)"]
        return []

    def _stripe_problems(self) -> list[str]:
        if self.stripe_webhook_secret and not self.stripe_api_key:
            return ["setting STRIPE_API_KEY: required when STRIPE_WEBHOOK_SECRET is set (events name objects "
                    "the bot reads from Stripe)"]
        return []

    def _shopify_problems(self) -> list[str]:
        present = self.shopify_settings_present
        if not present:
            return []
        conflict = self._shopify_auth_conflict()
        if conflict:
            return [conflict]
        mode = self.shopify_auth
        missing = [] if self.shopify_shop else ["SHOPIFY_SHOP"]
        missing += [name for name in AUTH_NEEDS[mode] if getattr(self, name.lower()) is None]
        if not missing:
            return []
        hint = AUTH_HINTS[mode] if any(name in AUTH_NEEDS[mode] for name in missing) else ""
        sample = (" (the sample store is used only when no SHOPIFY_* setting is set)"
                  if "SHOPIFY_SHOP" in missing else "")
        return [f"setting {' and '.join(missing)}: required when {', '.join(present)} "
                f"{'is' if len(present) == 1 else 'are'} set{hint}{sample}"]

    def _shopify_auth_conflict(self) -> str | None:
        """Credentials of two ways of connecting: one line naming them (never a guess)."""
        token, client_id, mode = self.shopify_access_token, self.shopify_client_id, self.shopify_auth_mode
        if mode is None and token is not None and client_id is not None:
            return ("setting SHOPIFY_ACCESS_TOKEN and SHOPIFY_CLIENT_ID: both are set, so it is unclear how to "
                    "connect to Shopify: unset SHOPIFY_ACCESS_TOKEN to use the client credentials grant, or "
                    "SHOPIFY_CLIENT_ID to keep the custom app's token (or choose with SHOPIFY_AUTH_MODE)")
        if mode in ("client_credentials", "authorization_code") and token is not None:
            return (f"setting SHOPIFY_ACCESS_TOKEN: not used with SHOPIFY_AUTH_MODE={mode} (the bot gets its "
                    f"tokens from Shopify itself); unset it")
        return None

    # --- derived --------------------------------------------------------------------------

    @property
    def shopify_settings_present(self) -> list[str]:
        """The SHOPIFY_* settings given, by name (the API version counts when set explicitly)."""
        return [name.upper() for name in SHOPIFY_FIELDS
                if (name in self.model_fields_set if name == "shopify_api_version" else getattr(self, name) is not None)]

    @property
    def uses_sample_store(self) -> bool:
        """The bundled sample store: only when no SHOPIFY_* setting is present at all."""
        return not self.shopify_settings_present

    @property
    def shopify_configured(self) -> bool:
        """A real shop (validation guarantees its shop domain and the credentials of its
        auth mode)."""
        return not self.uses_sample_store

    @property
    def shopify_auth(self) -> str:
        """How the Admin API token is obtained: SHOPIFY_AUTH_MODE when set; else a static
        SHOPIFY_ACCESS_TOKEN (a custom app created in the Shopify admin), else the client
        credentials grant (a Dev Dashboard app of the shop's own organization). The
        authorization-code install (an app of another organization) is never guessed."""
        if self.shopify_auth_mode is not None:
            return self.shopify_auth_mode
        return "static" if self.shopify_access_token is not None else "client_credentials"

    @property
    def shopify_base_url(self) -> str:
        """Where the shop's Admin API and OAuth endpoints are (SHOPIFY_API_URL overrides)."""
        return str(self.shopify_api_url).rstrip("/") if self.shopify_api_url else f"https://{self.shopify_shop}"

    @property
    def public_url(self) -> str | None:
        return str(self.returnsbot_public_url).rstrip("/") if self.returnsbot_public_url else None

    @property
    def shopify_graphql_url(self) -> str:
        return f"{self.shopify_base_url}/admin/api/{self.shopify_api_version}/graphql.json"

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)


# --- Shopify auth modes ---------------------------------------------------------------------

# What each way of connecting needs besides SHOPIFY_SHOP, by environment name.
AUTH_NEEDS = {
    "static": ("SHOPIFY_ACCESS_TOKEN",),
    "client_credentials": ("SHOPIFY_CLIENT_ID", "SHOPIFY_API_SECRET"),
    "authorization_code": ("SHOPIFY_CLIENT_ID", "SHOPIFY_API_SECRET", "RETURNSBOT_PUBLIC_URL",
                           "RETURNSBOT_ENCRYPTION_KEY"),
}
AUTH_HINTS = {
    "static": " (the Admin API token of a custom app created in the Shopify admin)",
    "client_credentials": (" (the Dev Dashboard app's client ID and secret, for the client credentials grant; "
                           "or SHOPIFY_ACCESS_TOKEN for a custom app created in the Shopify admin)"),
    "authorization_code": (" (SHOPIFY_AUTH_MODE=authorization_code: the app's client ID and secret, the https "
                           "address Shopify redirects the install to, and the key its tokens are stored with)"),
}


def _is_fernet_key(text: str) -> bool:
    import base64
    import binascii

    text = text.strip()
    try:
        return len(text) == 44 and len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning every problem into one clear line."""
    lines = _unknown_names(overrides.get("_env_file", ".env"))
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                name = "_".join(str(p) for p in err["loc"]).upper()
                lines.append(f"setting {name}: {msg}")
            else:  # the model's own check already names its settings, one per line
                lines.extend(msg.splitlines())
    else:
        if not lines:
            return settings
    raise SettingsError("\n".join(lines)) from None


def _unknown_names(env_file: object) -> list[str]:
    """SHOPIFY_* and RETURNSBOT_* names that are not settings: a typo such as
    SHOPIFY_ACCES_TOKEN would otherwise be ignored and the sample store used."""
    names = set(os.environ)
    if isinstance(env_file, (str, Path)) and Path(env_file).is_file():
        from dotenv import dotenv_values

        names |= set(dotenv_values(env_file))
    known = {name.upper() for name in Settings.model_fields}
    lines = []
    for name in sorted({n.upper() for n in names}):
        if name.startswith(OWN_PREFIXES) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"setting {name}: not a returnsbot setting{hint}")
    return lines
