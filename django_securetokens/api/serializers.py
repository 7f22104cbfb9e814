"""Request and response bodies of the JSON API.

Input is typed strictly: a JSON number, list or object where a string belongs is a field
error, not coerced. Addresses and passwords must also be encodable text, since a lone
surrogate from a JSON body would otherwise reach a database driver or a password hasher and
fail there (R-73). Tokens and codes are handed to the engine as they come, which judges any
value itself and answers the one ``invalid_token`` error (R-15, R-76).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_securetokens.flows import api_keys
from django_securetokens.flows.common import encodable
from django_securetokens.models import State
from django_securetokens.owners import validate_mailbox

#: The one error code of every token or code failure (R-15, R-83).
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret


class StrictCharField(serializers.CharField):
    """A ``CharField`` that takes JSON strings only and refuses text UTF-8 cannot encode."""

    default_error_messages = {
        "invalid": _("Not a valid string."),
        "unencodable": _("This field contains characters that cannot be used."),
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if not encodable(data):
            self.fail("unencodable")
        value: str = super().to_internal_value(data)
        return value


class StrictIntegerField(serializers.IntegerField):
    """An ``IntegerField`` that takes JSON integers only: not ``"30"``, ``30.5`` or ``true``."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        value: int = super().to_internal_value(data)
        return value


class StrictEmailField(serializers.EmailField, StrictCharField):
    """An address of at most 254 characters, given as a JSON string."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


class SecretField(serializers.CharField):
    """A token or code: any JSON string, passed on untouched.

    No length, character or NUL-byte rule of its own: the engine caps, normalises and judges
    every value, counts code attempts before judging them (R-20) and answers each failure the
    same way, so a malformed code is counted and refused like a wrong one (R-34, R-76).
    """

    default_error_messages = {"invalid": _("Not a valid string.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)
        self.validators = []

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class PasswordField(StrictCharField):
    """A password: never stripped, never echoed, at most 4,096 characters (no one types
    more, and the validators and hashers need not see megabytes)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 4096)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        kwargs.setdefault("write_only", True)
        super().__init__(**kwargs)


class EmailSerializer(serializers.Serializer[Any]):
    """``{"email"}``: ask for a password-reset mail."""

    email = StrictEmailField()


class ProofSerializer(serializers.Serializer[Any]):
    """``{"token"}`` or ``{"email", "code"}``: a mailed link's token, or a mailed code with
    the address it was mailed to."""

    token = SecretField(required=False)
    email = StrictEmailField(required=False)
    code = SecretField(required=False)

    default_error_messages = {
        "proof": _('Send either "token", or "email" and "code".'),
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if set(attrs) & {"token", "email", "code"} not in ({"token"}, {"email", "code"}):
            self.fail("proof")
        return attrs


class PasswordResetCompleteSerializer(ProofSerializer):
    """A password-reset proof plus ``new_password``."""

    new_password = PasswordField()


class VerificationProofSerializer(serializers.Serializer[Any]):
    """``{"code"}`` (signed in) or ``{"token"}``: which verification secret is presented."""

    token = SecretField(required=False)
    code = SecretField(required=False)

    default_error_messages = {"proof": _('Send either "token" or "code".')}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            self.fail("proof")
        return attrs


class EmailChangeSerializer(serializers.Serializer[Any]):
    """``{"email", "password"}``: the new address, and the current password (R-30)."""

    # An address the flows can bind and mail, or a 400 before the password is checked.
    email = StrictEmailField(validators=[validate_mailbox])
    password = PasswordField()


class PersonalKeyCreateSerializer(serializers.Serializer[Any]):
    """``{"name", "scopes", "expires_in_days", "password"}``: a new personal key, under the
    rules of :mod:`django_securetokens.flows.api_keys`, and the current password (R-85)."""

    name = StrictCharField(
        validators=[api_keys.validate_name],
        help_text=f"1 to {api_keys.NAME_MAX_LENGTH} printable characters.",
    )
    scopes = serializers.ListField(
        child=StrictCharField(),
        default=list,
        validators=[api_keys.validate_scopes],
        help_text="Scopes from `SELF_SERVICE_API_KEY_SCOPES` only; none by default.",
    )
    expires_in_days = StrictIntegerField(
        validators=[api_keys.validate_expires_in_days],
        help_text="From 1 to `max_days` (`API_KEY_MAX_AGE` in days).",
    )
    password = PasswordField()


class EmptySerializer(serializers.Serializer[Any]):
    """``{}``: the endpoint takes no fields."""


# --- responses (documentation of the bodies; the views build them as plain dicts) ------


class DetailSerializer(serializers.Serializer[Any]):
    """``{"detail"}``: a human-readable message."""

    detail = serializers.CharField()


class VerifiedSerializer(DetailSerializer):
    """``{"detail", "email"}``: the address that was proven."""

    email = serializers.EmailField()


class PersonalKeySerializer(serializers.Serializer[Any]):
    """One personal key as its owner sees it: never the secret, never a digest."""

    id = serializers.IntegerField(help_text="The id `api_key_revoke` takes.")
    name = serializers.CharField()
    key_id = serializers.CharField(
        help_text="`<prefix>_<selector>`, the public start of the key, as the page shows it."
    )
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(
        choices=[State.LIVE.value, State.EXPIRED.value, State.REVOKED.value]
    )


class PersonalKeyListSerializer(serializers.Serializer[Any]):
    """``{"api_keys", "scopes", "limit", "max_days"}``: the user's keys, newest first, and
    what a new one may be."""

    api_keys = PersonalKeySerializer(many=True)
    scopes = serializers.ListField(
        child=serializers.CharField(), help_text="The scopes a new key may grant."
    )
    limit = serializers.IntegerField(help_text="How many live keys a user may have.")
    max_days = serializers.IntegerField(help_text="The longest lifetime of a new key, in days.")


class PersonalKeyCreatedSerializer(PersonalKeySerializer):
    """The new key, with ``key``, its secret, in this answer only."""

    detail = serializers.CharField()
    key = serializers.CharField(help_text="The whole key. Shown once: it is stored nowhere.")


class PersonalKeyRevokedSerializer(PersonalKeySerializer):
    """The key, now revoked."""

    detail = serializers.CharField()


class InvalidTokenSerializer(DetailSerializer):
    """``{"code": "invalid_token", "detail"}``: every token failure alike (R-15)."""

    code = serializers.ChoiceField(choices=[INVALID_TOKEN])


class FieldErrorsSerializer(serializers.Serializer[Any]):
    """``{"<field>": ["message", …]}``; ``non_field_errors`` for the body as a whole."""
