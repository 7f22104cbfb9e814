from __future__ import annotations

import base64
import re
import string

import pytest

from django_securetokens import recipes


def test_tokens():
    assert len(recipes.token_urlsafe()) == 43
    assert re.fullmatch(r"[0-9a-f]{32}", recipes.token_hex(16))
    assert len(base64.b64decode(recipes.signing_key())) == 32


def test_code():
    assert re.fullmatch(r"[0-9]{8}", recipes.code(8))
    with pytest.raises(ValueError):
        recipes.code(0)


def test_password_meets_class_minimums():
    for _ in range(200):
        pw = recipes.password(12, lowercase=2, uppercase=2, digits=3, symbols=2)
        assert len(pw) == 12
        assert sum(c in string.ascii_lowercase for c in pw) >= 2
        assert sum(c in string.ascii_uppercase for c in pw) >= 2
        assert sum(c in string.digits for c in pw) >= 3
        assert sum(c in recipes.SYMBOLS for c in pw) >= 2


def test_password_can_fill_exactly_to_its_minimums():
    pw = recipes.password(40, lowercase=10, uppercase=10, digits=10, symbols=10)
    assert sum(c in string.digits for c in pw) == 10


def test_password_class_zero_leaves_it_out_and_lookalikes_can_be_dropped():
    for _ in range(100):
        pw = recipes.password(30, symbols=0, exclude_lookalikes=True)
        assert not set(pw) & set(recipes.SYMBOLS)
        assert not set(pw) & recipes.LOOKALIKES


@pytest.mark.parametrize(
    "kwargs",
    [
        {"length": 3},
        {"lowercase": -1},
        {"lowercase": 0, "uppercase": 0, "digits": 0, "symbols": 0},
    ],
)
def test_password_rejects_impossible_rules(kwargs):
    with pytest.raises(ValueError):
        recipes.password(**kwargs)


def test_passphrase_uses_the_shipped_list():
    words = recipes.default_wordlist()
    assert len(words) == 7776
    phrase = recipes.passphrase(6, separator=" ")
    assert len(phrase.split(" ")) == 6
    assert all(w in words for w in phrase.split(" "))


def test_passphrase_from_own_list(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\n".join(f"w{i}" for i in range(1000)))
    phrase = recipes.passphrase(4, wordlist=recipes.load_wordlist(path))
    assert re.fullmatch(r"w\d+-w\d+-w\d+-w\d+", phrase)
    path.write_text("too\nshort\n")
    with pytest.raises(ValueError):
        recipes.load_wordlist(path)
    with pytest.raises(ValueError):
        recipes.passphrase(0)


def test_api_key_recipe():
    assert re.fullmatch(r"acme_test_[0-9A-Za-z]{49}", recipes.api_key("acme_test"))
    with pytest.raises(ValueError):
        recipes.api_key("BAD")
