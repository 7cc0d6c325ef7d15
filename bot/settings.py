"""Settings from the environment and an optional `.env`.

Secrets are SecretStr (never printed) and have no defaults. A missing or malformed
setting is reported at start-up as one line naming it (see `load_settings`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///returnsbot.db"
DEFAULT_SHOPIFY_API_VERSION = "2025-01"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class SettingsError(RuntimeError):
    """One line, naming the setting; never the value of a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL

    shopify_shop: str | None = None  # e.g. "acme.myshopify.com"
    shopify_access_token: SecretStr | None = None
    shopify_api_secret: SecretStr | None = None  # webhook HMAC key (the app's client secret)
    shopify_api_version: str = DEFAULT_SHOPIFY_API_VERSION
    shopify_api_url: AnyHttpUrl | None = None  # base-URL override; default https://{shop}

    returnsbot_policy: Path | None = None  # the policy file; default: the built-in defaults
    returnsbot_poll_interval: int = 300  # seconds between catch-up polls in `serve`
    # How long a background job's claim lasts without renewal (renewed every third of it
    # while the job runs): how soon the work of a replica that died is taken over.
    returnsbot_job_lease_seconds: int = Field(default=10, ge=3, le=300)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # set: Socket Mode
    slack_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_SLACK_API_URL)

    @field_validator("shopify_shop")
    @classmethod
    def _shop_domain(cls, v: str | None) -> str | None:
        if v is None or v == "":
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

    # --- derived --------------------------------------------------------------------------

    @property
    def shopify_configured(self) -> bool:
        """Shopify is used when a shop and a token are set; otherwise the sample store."""
        return bool(self.shopify_shop and self.shopify_access_token)

    @property
    def shopify_graphql_url(self) -> str:
        base = str(self.shopify_api_url).rstrip("/") if self.shopify_api_url else f"https://{self.shopify_shop}"
        return f"{base}/admin/api/{self.shopify_api_version}/graphql.json"

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one clear line per problem."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"setting {name}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None
    if settings.shopify_shop and not settings.shopify_access_token:
        raise SettingsError("setting SHOPIFY_ACCESS_TOKEN: required when SHOPIFY_SHOP is set")
    if settings.shopify_access_token and not settings.shopify_shop:
        raise SettingsError("setting SHOPIFY_SHOP: required when SHOPIFY_ACCESS_TOKEN is set")
    return settings
