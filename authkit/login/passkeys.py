"""Passkeys (WebAuthn) with py_webauthn: options out, responses checked, each challenge single-use in Redis.

The relying party names its RP ID (a domain: ``localhost`` here, never an IP address) and the exact origins
it serves. The browser signs over the origin it really is on and only offers a credential to pages of its
RP ID, so a phishing site can neither ask for the credential nor replay what it gets: the server refuses
an assertion made for another origin. Challenges live 5 minutes and are spent with one ``GETDEL``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Callable

import redis
import webauthn
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authkit.errors import FactorError
from authkit.state.redis import fail_closed

CHALLENGE_TTL = timedelta(minutes=5)
MAX_RESPONSE_BYTES = 16 * 1024


@dataclass(frozen=True)
class Passkey:
    """What the server keeps of a credential: its ID, public key (COSE), signature counter, and user."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    user_id: str


class PasskeyRelyingParty:
    """Registration and authentication ceremonies for one RP ID and its origins."""

    def __init__(self, client: redis.Redis, *, rp_id: str, rp_name: str, origins: list[str],
                 prefix: str = "authkit", challenge_ttl: timedelta = CHALLENGE_TTL) -> None:
        self.client, self.rp_id, self.rp_name, self.origins = client, rp_id, rp_name, list(origins)
        self.prefix, self.challenge_ttl = prefix, challenge_ttl

    def _challenge(self, purpose: str) -> bytes:
        challenge = secrets.token_bytes(32)
        with fail_closed("the passkey challenge store"):
            self.client.set(self._challenge_key(challenge), purpose,
                            px=int(self.challenge_ttl.total_seconds() * 1000))
        return challenge

    def _challenge_key(self, challenge: bytes) -> str:
        return f"{self.prefix}:webauthn:{{{hashlib.sha256(challenge).hexdigest()}}}"

    def _spend(self, response: dict[str, Any], ceremony: str) -> tuple[bytes, str]:
        """The challenge the response signed and what it was issued for, if ours, for ``ceremony``, unspent."""
        try:
            client_data = json.loads(_unb64(response["response"]["clientDataJSON"]))
            challenge = _unb64(client_data["challenge"])
        except (KeyError, TypeError, ValueError) as err:
            raise FactorError("malformed", "not a WebAuthn response") from err
        with fail_closed("the passkey challenge store"):
            issued_for = self.client.getdel(self._challenge_key(challenge))
        if issued_for is None or issued_for.partition(":")[0] != ceremony:
            raise FactorError("unknown_challenge", "unknown, expired or already used challenge")
        return challenge, issued_for.partition(":")[2]

    def registration_options(self, user_id: str, user_name: str, existing: tuple[Passkey, ...] = ()) -> str:
        """The JSON for ``navigator.credentials.create``: a discoverable credential, user verification."""
        options = webauthn.generate_registration_options(
            rp_id=self.rp_id, rp_name=self.rp_name, user_name=user_name, user_id=user_id.encode(),
            challenge=self._challenge(f"register:{user_id}"),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
        )
        return webauthn.options_to_json(options)

    def verify_registration(self, response: object) -> Passkey:
        """The new passkey, if ``response`` answers a live registration challenge, from one of our origins.

        Its user is the one the challenge was issued to (after their fresh authentication), never one the
        response names."""
        body = _response(response)
        challenge, user_id = self._spend(body, "register")
        try:
            verified = webauthn.verify_registration_response(
                credential=body, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self.origins, require_user_verification=True)
        except (WebAuthnException, KeyError, TypeError, ValueError) as err:
            raise FactorError("bad_assertion", f"registration refused: {err}") from err
        return Passkey(verified.credential_id, verified.credential_public_key, verified.sign_count, user_id)

    def authentication_options(self) -> str:
        """The JSON for ``navigator.credentials.get``: any passkey of this RP ID (no user named first)."""
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id, challenge=self._challenge("login"),
            user_verification=UserVerificationRequirement.REQUIRED)
        return webauthn.options_to_json(options)

    def verify_authentication(self, response: object, lookup: Callable[[bytes], Passkey | None]) -> Passkey:
        """The passkey that signed ``response``, with its new counter; ``lookup`` finds a stored one by ID."""
        body = _response(response)
        try:
            credential_id = _unb64(body["rawId"])
        except (KeyError, TypeError, ValueError) as err:
            raise FactorError("malformed", "not a WebAuthn response") from err
        challenge, _ = self._spend(body, "login")
        passkey = lookup(credential_id)
        if passkey is None:
            raise FactorError("unknown_credential", "no such passkey here")
        try:
            verified = webauthn.verify_authentication_response(
                credential=body, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self.origins, credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count, require_user_verification=True)
        except (WebAuthnException, KeyError, TypeError, ValueError) as err:
            reason = "counter_regressed" if "sign count" in str(err).lower() else "bad_assertion"
            raise FactorError(reason, f"authentication refused: {err}") from err
        return replace(passkey, sign_count=verified.new_sign_count)


def _response(response: object) -> dict[str, Any]:
    """A WebAuthn response as a dict, from a dict or JSON text of bounded size."""
    if isinstance(response, str):
        if len(response) > MAX_RESPONSE_BYTES:
            raise FactorError("malformed", "response too large")
        try:
            response = json.loads(response)
        except (ValueError, RecursionError) as err:
            raise FactorError("malformed", "not JSON") from err
    if not isinstance(response, dict):
        raise FactorError("malformed", "not a WebAuthn response")
    return response


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64url text")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
