"""JWS and JWT mechanics: keys, JWK, sign and verify, claims, issuer and verifier, remote keys (notebooks 01–03)."""
