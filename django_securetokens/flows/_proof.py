"""Proving an address with a mailed link and code: the machinery of email verification and
email change, which differ only in purpose, templates and what success changes.

One mail carries a link and a code for the same (owner, purpose, address); either proves the
address, and using one revokes the other. Mail goes out through ``EMAIL_SENDER``: the job
issues the secrets, so the job's arguments never hold one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.debug import sensitive_variables

from django_securetokens import limits
from django_securetokens.conf import EMAIL_CHANGE, EMAIL_VERIFICATION, get_policy
from django_securetokens.emails import render_email, send_email, site_name
from django_securetokens.models import SecureToken
from django_securetokens.owners import mailbox
from django_securetokens.signals import email_verified
from django_securetokens.tasks import enqueue, task

from .common import format_code, limit, link, spending

logger = logging.getLogger("django_securetokens")

# Per purpose: the URL name of the emailed link and the email template prefix.
MAILS = {
    EMAIL_VERIFICATION: (
        "securetokens:email_verification_confirm",
        "django_securetokens/email/email_verification",
    ),
    EMAIL_CHANGE: ("securetokens:email_change_confirm", "django_securetokens/email/email_change"),
}


def request(
    purpose: str,
    email: str,
    user: AbstractBaseUser | None,
    *,
    origin: str,
    next_url: str | None,
    language: str | None,
    client: str,
    session: str | None,
) -> bool:
    """Queue the mail proving *email* for *purpose*; see ``email_verification.request``."""
    # Counted, bound and mailed in one canonical form, so no two spellings that reach one
    # mailbox get two budgets.
    address = mailbox(email)
    user_pk = None if user is None else user.pk
    requester = f"user:{user_pk}" if user is not None else session and f"session:{session}"
    counted = [(limits.VERIFICATION_MAIL_IP, client), (limits.VERIFICATION_MAIL, address)]
    if requester:
        counted.insert(1, (limits.VERIFICATION_MAIL_REQUESTER, requester))
    # In order, stopping at the first refusal: a client over its own limit spends nothing
    # of the address's budget, which belongs to the mailbox's owner.
    if not all(entry.hit(key) for entry, key in counted):
        logger.info("Verification mail (%s) for user %s suppressed by a limit", purpose, user_pk)
        return False
    enqueue(
        send_proof,
        purpose=purpose,
        email=address,
        user_pk=None if user_pk is None else str(user_pk),
        origin=origin,
        next_url=next_url,
        language=language,
    )
    return True


@task
@sensitive_variables("secret", "code", "context")
def send_proof(
    *, purpose: str, email: str, user_pk: str | None, origin: str, next_url: str | None
) -> None:
    """The mail job: issue a link and a code for (*user_pk* or the address alone, *purpose*,
    *email*) and mail both in one message to *email*."""
    confirm_url_name, template_prefix = MAILS[purpose]
    user = None
    if user_pk is not None:
        user = get_user_model()._default_manager.filter(pk=user_pk).first()
        if user is None:
            return
    data = {"next": next_url} if next_url else None
    _, secret = SecureToken.objects.issue(user, purpose=purpose, email=email, data=data)
    _, code = SecureToken.objects.issue_code(user=user, purpose=purpose, email=email)
    policy, now = get_policy(purpose), timezone.now()
    context = {
        "user": user,
        "email": email,
        "code": format_code(code),
        "code_valid_for": timeuntil(now + policy.code_ttl, now),
        "link": link(purpose, confirm_url_name, secret, origin),
        "link_valid_for": timeuntil(now + policy.ttl, now),
        "site_name": site_name(origin),
    }
    sent = send_email(render_email(template_prefix, context, to=email), user_pk=user_pk)
    logger.info("Verification mail (%s) for user %s sent: %s", purpose, user_pk, sent)


@sensitive_variables("secret")
def verify(purpose: str, secret: object, *, client: str) -> SecureToken:
    """The live token of the link *secret*; see ``email_verification.verify``."""
    limit(limits.VERIFICATION_CONFIRM, client)
    return SecureToken.objects.verify(secret, purpose)


@sensitive_variables("code")
def verify_code(
    purpose: str,
    code: object,
    *,
    email: str,
    user: AbstractBaseUser | None,
    client: str,
) -> SecureToken:
    """The live code *code* matches for (*user*, *email*); see
    ``email_verification.verify_code``."""
    limit(limits.VERIFICATION_CODE, client)
    # The code was bound to the canonical form (see request); mailbox() raises InvalidToken,
    # a TokenError, for an address no code can be bound to.
    return SecureToken.objects.verify_code(code, purpose, user=user, email=mailbox(email))


def complete(
    token: SecureToken,
    apply: Callable[[SecureToken], None] | None,
    *,
    sender: Any,
    request: Any,
) -> None:
    """Use *token*, revoke its sibling secrets, run *apply* and send ``email_verified``, all in
    one transaction (R-19), so a receiver's own write commits with it or not at all."""
    with spending(token) as tokens:
        tokens.use(token)
        # The engine's owner key: the account when there is one, else the address alone.
        tokens.revoke_queryset(tokens.filter(owner=token.owner, purpose=token.purpose))
        if apply is not None:
            apply(token)
        email_verified.send(sender=sender, user=token.user, email=token.email, request=request)
    logger.info("Address verified (%s) for user %s", token.purpose, token.user_id)
