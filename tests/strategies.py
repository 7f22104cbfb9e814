"""What the fuzz tests share: the fixed budget and the token-shaped strategies."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# `make fuzz` (run by CI) raises the budget; ordinary runs stay quick. derandomize keeps every
# run reproducible.
FUZZ = settings(
    max_examples=int(os.environ.get("SECURETOKENS_FUZZ_EXAMPLES", "200")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def well_formed_token() -> st.SearchStrategy[str]:
    """Tokens that pass the syntax check, so the query and the HMAC run."""
    return st.builds(
        lambda sel, ver: sel + ver,
        st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
        st.text(alphabet=URLSAFE, min_size=43, max_size=43),
    )


def tampered(secret: str) -> st.SearchStrategy[str]:
    """The real secret with one character changed."""
    return st.builds(
        lambda i, c: secret[:i] + c + secret[i + 1 :],
        st.integers(0, len(secret) - 1),
        st.sampled_from(URLSAFE),
    ).filter(lambda s: s != secret)
