"""Operator settings, read only from the environment.

Every variable is in docs/operators.md, "Environment variables".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SettingsError(ValueError):
    pass


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_ON = frozenset({"on", "1", "true", "yes"})
_OFF = frozenset({"off", "0", "false", "no"})


def content_folder(env: Mapping[str, str], name: str, folder: str) -> Path:
    """prompts/ or audio/: where `name` says, else in the working folder; it must be there."""
    given = env.get(name, "").strip()
    path = Path(given) if given else Path(folder)
    if not path.is_dir():
        found = f"{name}={given} is not a folder" if given else f"no {folder}/ in {Path.cwd()}"
        raise SettingsError(
            f"{found}: run the line from the folder that holds prompts/ and audio/, "
            f"or set {name} to the {folder} folder"
        )
    return path


def switch(env: Mapping[str, str], name: str, default: str) -> bool:
    """An on/off variable; anything else is an error, so a typo never turns a safeguard off."""
    value = env.get(name, default).strip().lower() or default
    if value not in _ON | _OFF:
        raise SettingsError(f"{name} should be on or off, not {value!r}")
    return value in _ON


@dataclass(frozen=True)
class Settings:
    # Secrets stay out of a printed Settings.
    auth_token: str | None = field(default=None, repr=False)
    # During a token rotation, the token being retired: webhooks signed with it still pass.
    auth_token_previous: str | None = field(default=None, repr=False)
    # Twilio's webhook shared keys, (id, secret): a webhook naming one is checked with its secret.
    webhook_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    public_base_url: str | None = None
    audio_base_url: str | None = None
    proxy_hops: int = 0
    transfer_caller_id: str = "to"  # "to", "from" or an E.164 number
    # An operator keeps the content beside the code they deploy: in the working folder.
    prompts_dir: Path = Path("prompts")
    audio_dir: Path = Path("audio")
    log_level: str = "INFO"
    phone_page: str = "auto"  # "on", "off", or "auto": on only while no auth token is set
    account_sid: str | None = None
    delete_call_logs: bool = False
    # The usage counters: Redis when redis_url is set, else this SQLite file; neither: none.
    usage_db: Path | None = None
    redis_url: str | None = field(default=None, repr=False)
    usage_min_count: int = 10  # the report shows a smaller count as "fewer than" this
    usage_batch_seconds: int = 600  # how often each server process saves its counts

    @property
    def phone_page_enabled(self) -> bool:
        unsigned = not (self.auth_token or self.webhook_keys)
        return self.phone_page == "on" or (self.phone_page == "auto" and unsigned)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        hops = env.get("PROXY_HOPS", "0").strip() or "0"
        if not hops.isdigit():
            raise SettingsError(f"PROXY_HOPS should be a whole number, not {hops!r}")
        caller_id = env.get("TRANSFER_CALLER_ID", "to").strip() or "to"
        if caller_id not in ("to", "from") and not E164.match(caller_id):
            raise SettingsError(
                f"TRANSFER_CALLER_ID should be to, from or a +E.164 number, not {caller_id!r}"
            )
        base = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/") or None
        audio_base = env.get("AUDIO_BASE_URL", "").strip().rstrip("/") or None
        for name, url in (("PUBLIC_BASE_URL", base), ("AUDIO_BASE_URL", audio_base)):
            if url and not _is_base_url(url):
                raise SettingsError(
                    f"{name} should look like https://host.example.org (a port, if any, from "
                    f"1 to 65535), not {url!r}"
                )
        phone = env.get("PHONE_PAGE", "auto").strip().lower() or "auto"
        if phone != "auto":
            if phone not in _ON | _OFF:
                raise SettingsError(f"PHONE_PAGE should be on, off or auto, not {phone!r}")
            phone = "on" if phone in _ON else "off"
        auth_token = env.get("TWILIO_AUTH_TOKEN", "").strip() or None
        delete_logs = switch(env, "DELETE_CALL_LOGS", "off")
        account_sid = env.get("TWILIO_ACCOUNT_SID", "").strip() or None
        if delete_logs and not (account_sid and auth_token):
            raise SettingsError(
                "DELETE_CALL_LOGS=on needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        previous = env.get("TWILIO_AUTH_TOKEN_PREVIOUS", "").strip() or None
        if previous and not auth_token:
            raise SettingsError(
                "TWILIO_AUTH_TOKEN_PREVIOUS is set without TWILIO_AUTH_TOKEN: set the new token "
                'in TWILIO_AUTH_TOKEN (docs/operators.md, "Rotating the auth token")'
            )
        webhook_keys = parse_webhook_keys(env.get("TWILIO_WEBHOOK_KEYS", ""))
        if phone == "on" and webhook_keys and not auth_token:
            raise SettingsError(
                "PHONE_PAGE=on with TWILIO_WEBHOOK_KEYS needs TWILIO_AUTH_TOKEN: "
                "the browser phone signs its requests with it"
            )
        log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"LOG_LEVEL should be {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}, "
                f"not {log_level!r}"
            )
        min_count = env.get("USAGE_MIN_COUNT", "10").strip() or "10"
        if not (min_count.isdigit() and int(min_count) >= 1):
            raise SettingsError(f"USAGE_MIN_COUNT should be a whole number, not {min_count!r}")
        batch = env.get("USAGE_BATCH_SECONDS", "600").strip() or "600"
        if not (batch.isdigit() and int(batch) >= 1):
            raise SettingsError(f"USAGE_BATCH_SECONDS should be a whole number, not {batch!r}")
        return cls(
            usage_batch_seconds=int(batch),
            usage_db=Path(env.get("USAGE_DB", "").strip() or "usage.sqlite3"),
            redis_url=env.get("REDIS_URL", "").strip() or None,
            usage_min_count=int(min_count),
            account_sid=account_sid,
            delete_call_logs=delete_logs,
            phone_page=phone,
            auth_token=auth_token,
            auth_token_previous=previous if previous != auth_token else None,
            webhook_keys=webhook_keys,
            public_base_url=base,
            audio_base_url=audio_base,
            proxy_hops=int(hops),
            transfer_caller_id=caller_id,
            prompts_dir=content_folder(env, "PROMPTS_DIR", "prompts"),
            audio_dir=content_folder(env, "AUDIO_DIR", "audio"),
            log_level=log_level,
        )


def parse_webhook_keys(value: str) -> tuple[tuple[str, str], ...]:
    """TWILIO_WEBHOOK_KEYS, `id=secret[,id=secret]`: each shared key's id and its secret.

    A mistake is named by the item's place, never by what it holds: it may hold a secret.
    """
    keys: dict[str, str] = {}
    items = [item.strip() for item in value.split(",")] if value.strip() else []
    for place, item in enumerate(items, start=1):
        key_id, _, secret = (part.strip() for part in item.partition("="))
        if not (key_id and secret):
            raise SettingsError(
                f"TWILIO_WEBHOOK_KEYS: item {place} of {len(items)} should be id=secret "
                "(items are separated by commas)"
            )
        if key_id in keys:
            raise SettingsError(f"TWILIO_WEBHOOK_KEYS: item {place} repeats an earlier key's id")
        keys[key_id] = secret
    return tuple(keys.items())


def _is_base_url(url: str) -> bool:
    """An http(s) address with a host, and a port the signature check can read."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port out of range, or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0
