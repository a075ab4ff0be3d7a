"""One settings object, read once from the environment (no secrets in files)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACTORY_REVIEW_", extra="ignore")

    # No URL → a SQLite file under data_dir (WAL). Any SQLAlchemy URL otherwise, e.g.
    # postgresql+psycopg://user@host/db.
    # Secret: a URL may carry the database password, so it never shows in repr() or logs.
    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "FACTORY_REVIEW_DATABASE_URL")
    )
    data_dir: Path = Path("data")
    # The current season: every command's and flow's default (each also takes --season).
    season: str = "2025"
    # More folders holding <season>.yaml files, separated by os.pathsep (searched before the shipped ones).
    season_dirs: str = ""
    # Fixes the clock for a replay: a date or ISO instant (see models.clock.parse_instant).
    now: str | None = None
    # Keyed audit chain: without the key nobody can recompute a forged chain.
    audit_key: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 10.0
    mail_from: str = "智能工厂梯度培育 <noreply@factory-review.local>"
    # Where the .eml sink writes when no SMTP host is set.
    mail_dir: Path | None = None
    # The platform's address as people reach it: every mail links to it (FACTORY_REVIEW_PLATFORM_URL).
    platform_url: str = "http://127.0.0.1:8000"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url.get_secret_value()
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'factory-review.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
