"""Single sign-on: an institution's OpenID Connect identity provider (IdP).

An institution registers its IdP (``/v1/admin/identity-providers``): issuer,
JWKS URL, audience, the algorithms it signs with, how its claims map to our
accounts, and whether a person's first sign-in creates her account or links an
existing one by email. A front end that signed a person in at that IdP swaps
the IdP's ID token for our tokens at ``/v1/auth/token`` with the RFC 8693
token-exchange grant (``gateway.grants``); ``federation`` verifies it with
servicekit's one ``TokenVerifier`` and finds, links or creates the account.

- ``models``: the registrations and the external-identity links;
- ``schemas``: request and response models of the registration endpoints;
- ``service``: registration rules (who may manage which, URL policy, no two
  registrations that could accept the same token);
- ``federation``: the IdP keys (cached, throttled refetch), token verification
  and the account an exchange signs in;
- ``router``: the registration endpoints.
"""
