"""The registry of rate limits: every limit the flows apply, in one list.

Each entry names its cache scope, the ``SECURETOKENS`` setting that holds its rates, and
what it does when the cache is down; its comment says what it counts and what happens over
it. The checks validate exactly these settings and the tests derive their lists from
:data:`ALL`, so a new flow adds one entry here (and its default in ``conf.DEFAULTS``) and
nothing can drift.

Per-client limits fail *open*: they protect availability, and refusing every client while
Redis is down would itself be an outage. The per-address mail limits fail *closed*: the
reset and verification pages answer identically whether or not mail is sent (R-35), so
suppressing mail costs an outage of mail only, whereas failing open would let anyone flood
an inbox; the per-requester and per-client verification mail limits fail closed for the
same reason, and so do the limits on password checks (R-79). The limits that bound code
guessing (R-32, R-33, R-81) are counters in the database, not in the cache, so they hold
either way; API keys are 256-bit secrets, so their per-client failure limit is not what
keeps them unguessable.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ratelimit
from .conf import setting


@dataclass(frozen=True)
class Limit:
    """One rate limit: a cache *scope*, the *setting* holding its rates, and whether it
    allows events (``fail_open``) or refuses them when the cache cannot be reached."""

    scope: str
    setting: str
    fail_open: bool

    def rates(self) -> ratelimit.Rates:
        """The configured ``(most events, window in seconds)`` pairs, or None (no limit)."""
        rates: ratelimit.Rates = setting(self.setting)
        return rates

    def hit(self, key: str) -> bool:
        """Count one event for *key*; return whether every window still allows it."""
        return ratelimit.hit(self.scope, key, self.rates(), fail_open=self.fail_open)

    def refund(self, key: str) -> None:
        """Take back one event :meth:`hit` counted for *key*."""
        ratelimit.refund(self.scope, key, self.rates(), fail_open=self.fail_open)

    def exceeded(self, key: str) -> int | None:
        """Without counting: the longest window *key* has filled, or None."""
        return ratelimit.exceeded(self.scope, key, self.rates(), fail_open=self.fail_open)


#: Reset requests per submitted address, counted whether or not an account has it (R-37),
#: and per client (R-38). Over either, the answer is the usual one and no mail goes out (R-35).
PASSWORD_RESET_EMAIL = Limit("password_reset_email", "PASSWORD_RESET_RATE_PER_EMAIL", False)
PASSWORD_RESET_IP = Limit("password_reset_ip", "PASSWORD_RESET_RATE_PER_IP", True)
#: Emailed reset links opened per client (R-38); over it, the link page answers 429.
PASSWORD_RESET_CONFIRM = Limit(
    "password_reset_confirm", "PASSWORD_RESET_CONFIRM_RATE_PER_IP", True
)
#: Reset codes submitted per client, on the page and the JSON API alike (R-38); over it, 429.
PASSWORD_RESET_CODE = Limit("password_reset_code_ip", "PASSWORD_RESET_CODE_RATE_PER_IP", True)
#: Verification and email-change mails per address, counted whether or not an account has it
#: (R-37); over it, the answer is the usual one and no mail goes out.
VERIFICATION_MAIL = Limit("verification_mail", "EMAIL_VERIFICATION_RATE_PER_EMAIL", False)
#: The same mails per requester: the signed-in user, or else the browser session (R-77). With
#: the per-client limit below, no account is needed for the per-address limit to be the only
#: thing between a sign-up page and an inbox.
VERIFICATION_MAIL_REQUESTER = Limit(
    "verification_mail_requester", "EMAIL_VERIFICATION_RATE_PER_REQUESTER", False
)
#: The same per client (R-77).
VERIFICATION_MAIL_IP = Limit("verification_mail_ip", "EMAIL_VERIFICATION_RATE_PER_IP", False)
#: Verification codes submitted per client (R-38); over it, 429.
VERIFICATION_CODE = Limit("verification_code_ip", "EMAIL_VERIFICATION_CODE_RATE_PER_IP", True)
#: Emailed verification links opened or confirmed per client (R-38); over it, 429.
VERIFICATION_CONFIRM = Limit(
    "verification_confirm_ip", "EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP", True
)
#: Wrong passwords when re-authenticating to create a personal API key, per user and per
#: client (R-79); over either, 429 and the password is not checked. They fail closed: the
#: check guards a password, and an outage of the cache costs only the creation of new keys.
REAUTH_USER = Limit("api_key_reauth_user", "SELF_SERVICE_REAUTH_RATE_PER_USER", False)
REAUTH_IP = Limit("api_key_reauth_ip", "SELF_SERVICE_REAUTH_RATE_PER_IP", False)
#: Sign-in mails per address, counted whether or not an account has it (R-37), and sign-in
#: requests per client (R-38). Over either, the answer is the usual one and no mail goes out.
LOGIN_EMAIL = Limit("login_email", "LOGIN_RATE_PER_EMAIL", False)
LOGIN_IP = Limit("login_ip", "LOGIN_RATE_PER_IP", True)
#: Emailed sign-in links confirmed per client (R-38); over it, 429.
LOGIN_CONFIRM = Limit("login_confirm_ip", "LOGIN_CONFIRM_RATE_PER_IP", True)
#: Sign-in codes submitted per client and per address (R-38, R-81); over either, 429. Both
#: fail open: the database caps per code and per account bound the guessing regardless.
LOGIN_CODE = Limit("login_code_ip", "LOGIN_CODE_RATE_PER_IP", True)
LOGIN_CODE_EMAIL = Limit("login_code_email", "LOGIN_CODE_RATE_PER_EMAIL", True)
#: Wrong current passwords when asking to change the account's address, per user and per
#: client (R-79); over either, the password is not checked: a form error, 429.
EMAIL_CHANGE_REAUTH_USER = Limit(
    "email_change_reauth_user", "EMAIL_CHANGE_REAUTH_RATE_PER_USER", False
)
EMAIL_CHANGE_REAUTH_IP = Limit("email_change_reauth_ip", "EMAIL_CHANGE_REAUTH_RATE_PER_IP", False)
#: Failed API-key authentications per client (R-38); over it, even a valid key gets 429 until
#: the window ends.
API_KEY_FAILURE = Limit("api_key", "API_KEY_FAILURE_RATE_PER_IP", True)

#: Every limit above, in order, for the checks, the docs and the tests. Collected rather than
#: listed, so an entry cannot be defined and then forgotten here.
ALL: tuple[Limit, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Limit))
