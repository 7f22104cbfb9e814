"""The flows layer: each flow's steps as plain functions, shared by every front end.

One module per flow — :mod:`.password_reset`, :mod:`.email_verification`,
:mod:`.email_change` — whose public functions are the flow's steps: *request* (eligibility,
limits, queue the mail through ``EMAIL_SENDER``), *verify* (the token or a
:class:`~django_securetokens.exceptions.TokenError`) and *complete*. They take plain values
(an address, a code, the client key for rate limits, the site origin for links, the
language of the mail), never a request, so the HTML views, the JSON API, the admin action
and the mail jobs all run the same code. What a browser session remembers between steps is
the front end's business (see :mod:`django_securetokens.sessions`).

Each module names its rate-limit scopes once, at its top.
"""

from __future__ import annotations

from .common import RateLimited

__all__ = ["RateLimited"]
