"""Warn the owners of API keys that are about to expire (``apikey notify-expiring``).

Each key is noticed once per expiry date: the notice row is written, under a unique
constraint, before the mail goes out, so a daily cron job (or two racing ones) mails once
per key, not once a day. A key whose expiry is moved later is noticed again for its new
date. Mail never names a secret, only each key's name and id (R-65). One run reads and
writes one database, where the routers write API keys (see :mod:`.databases`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import signals
from .conf import setting
from .databases import write_alias
from .emails import render_email, send_email
from .models import APIKey, APIKeyExpiryNotice

TEMPLATE_PREFIX = "django_securetokens/email/api_key_expiring"


@dataclass(frozen=True)
class Outcome:
    """What one run did: keys noticed, mails sent, mails that failed (retried next run)."""

    keys: int
    mails: int
    failed: int


def due(days: int, using: str) -> list[APIKey]:
    """Live keys of database *using* that expire within *days* and were not yet noticed for
    that expiry."""
    now = timezone.now()
    noticed = APIKeyExpiryNotice.objects.filter(
        api_key=OuterRef("pk"), expires_at=OuterRef("expires_at")
    )
    keys = APIKey.objects.using(using).filter(
        revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + timedelta(days=days)
    )
    return list(keys.exclude(Exists(noticed)).select_related("user").order_by("expires_at", "pk"))


def _claim(api_key: APIKey, expires_at: datetime, using: str) -> bool:
    """Record the notice for *api_key*; False when another run recorded it first."""
    try:
        with transaction.atomic(using=using):
            APIKeyExpiryNotice.objects.using(using).create(api_key=api_key, expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def _address(api_key: APIKey) -> str:
    user: Any = api_key.user
    if user is None or not user.is_active:
        return ""
    return str(getattr(user, user.get_email_field_name(), "") or "")


def notify_expiring(days: int | None = None) -> Outcome:
    """Notice every key expiring within *days* (default ``API_KEY_EXPIRY_NOTICE_DAYS``).

    Sends ``api_key_expiring`` for each key and one mail per owner listing that owner's
    keys. Keys without an owner, or whose owner has no address, get the signal only. When a
    mail fails, its keys' notices are dropped again so the next run retries them.
    """
    days = setting("API_KEY_EXPIRY_NOTICE_DAYS") if days is None else days
    alias = write_alias(APIKey.objects)
    by_owner: dict[str, list[APIKey]] = defaultdict(list)
    claimed = 0
    for api_key in due(days, alias):
        expires_at = cast("datetime", api_key.expires_at)  # due() keeps only dated keys
        if not _claim(api_key, expires_at, alias):
            continue
        claimed += 1
        signals.api_key_expiring.send(sender=APIKey, api_key=api_key, expires_at=expires_at)
        address = _address(api_key)
        if address:
            by_owner[address].append(api_key)
    base_url = setting("BASE_URL") or ""
    site_name = urlsplit(str(base_url)).hostname or ""
    mails = failed = 0
    for address, keys in by_owner.items():
        context = {"user": keys[0].user, "api_keys": keys, "site_name": site_name}
        message = render_email(TEMPLATE_PREFIX, context, address)
        if send_email(message, user_pk=keys[0].user_id):
            mails += 1
        else:
            failed += 1
            APIKeyExpiryNotice.objects.using(alias).filter(
                api_key__in=keys, expires_at__in=[k.expires_at for k in keys]
            ).delete()
    return Outcome(claimed, mails, failed)
