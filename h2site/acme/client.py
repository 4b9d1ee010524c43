# -*- test-case-name: tests.integration.test_acme -*-
"""
The ACME exchange (RFC 8555) through certbot's C{acme} library: register
the account, order a certificate, answer its challenges and finalize.
Every method blocks on the network: the service runs them in threads
(L{h2site.acme.service}), never on the reactor.  Failures come out as
L{AcmeError}, one line each.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.jwk import JWKRSA

from h2site.acme.orders import AcmeError, Challenge, PendingOrder
from h2site.acme.settings import AcmeSettings
from h2site.tls.localca import pemKey

__all__ = ["AcmeClient"]

#: How long the CA may take to validate and issue, once asked.
_ORDER_TIMEOUT = timedelta(seconds=90)

#: Seconds for one request to the CA.
_NETWORK_TIMEOUT = 30


class _Ready(challenges.KeyAuthorizationChallengeResponse):
    """
    The empty answer (C{{}}) that tells the CA a TLS-ALPN-01 challenge is
    ready: the C{acme} library no longer has a class for that challenge.
    (Of this base, for its one optional field: a response with no fields
    is false, and the library would send it as a POST-as-GET.)
    """

    typ = "tls-alpn-01"


def _kind(challb: Any) -> str:
    chall = challb.chall
    if isinstance(chall, challenges.UnrecognizedChallenge):
        return str(chall.jobj.get("type", ""))
    return str(chall.typ)


def _describe(error: BaseException) -> str:
    """
    One line for what went wrong with the CA.
    """
    if isinstance(error, errors.ValidationError):
        details = []
        for authz in error.failed_authzrs:
            for challb in authz.body.challenges:
                if challb.error is not None:
                    name = authz.body.identifier.value
                    details.append(f"{name}: {challb.error.detail or challb.error}")
        return "validation failed: " + ("; ".join(details) or str(error))
    if isinstance(error, messages.Error):
        detail = error.detail or error.description or str(error)
        return f"the CA refused: {detail}"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "cannot connect to the CA"
    if isinstance(error, requests.exceptions.SSLError):
        return "the CA's TLS certificate is not trusted (see --acme-ca-bundle)"
    if isinstance(error, requests.exceptions.Timeout):
        return "the CA did not answer in time"
    if isinstance(error, errors.TimeoutError):
        return "the CA did not validate and issue in time"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class AcmeClient:
    """
    One CA account, as the state folder keeps it.
    """

    def __init__(
        self, settings: AcmeSettings, accountKeyPEM: bytes, accountURL: str | None
    ) -> None:
        key = serialization.load_pem_private_key(accountKeyPEM, password=None)
        self._settings = settings
        self._key = JWKRSA(key=key)
        self.accountURL = accountURL
        self._client: client.ClientV2 | None = None

    def _connect(self) -> client.ClientV2:
        if self._client is not None:
            return self._client
        verify: Any = self._settings.caBundle or True
        net = client.ClientNetwork(
            self._key,
            verify_ssl=verify,
            user_agent="h2site",
            timeout=_NETWORK_TIMEOUT,
        )
        directory = client.ClientV2.get_directory(self._settings.directory, net)
        self._client = client.ClientV2(directory, net)
        if self.accountURL is not None:
            net.account = messages.RegistrationResource(
                uri=self.accountURL, body=messages.Registration()
            )
        else:
            self._register(self._client)
        return self._client

    def _register(self, acme: client.ClientV2) -> None:
        settings = self._settings
        fields: dict[str, Any] = {"terms_of_service_agreed": settings.agreed}
        if settings.email:
            fields["email"] = settings.email
        try:
            regr = acme.new_account(messages.NewRegistration.from_data(**fields))
        except errors.ConflictError as e:
            # The key is registered already: use that account.
            regr = messages.RegistrationResource(
                uri=e.location, body=messages.Registration()
            )
            acme.net.account = regr
        self.accountURL = regr.uri

    def _order(self, csrPEM: bytes) -> Any:
        acme = self._connect()
        try:
            return acme.new_order(csrPEM)
        except messages.Error as e:
            if e.code != "accountDoesNotExist":
                raise
        # The CA forgot the account (a test CA restarted): register again.
        self._register(acme)
        return acme.new_order(csrPEM)

    def begin(self) -> PendingOrder:
        """
        Order a certificate for all the names, with a new key, and say
        which challenges prove them: for each name, the first kind of
        C{settings.challenges} the CA offers.

        @raise AcmeError: if the CA cannot be reached or refuses.
        """
        try:
            return self._begin()
        except AcmeError:
            raise
        except Exception as e:
            raise AcmeError(_describe(e)) from e

    def _begin(self) -> PendingOrder:
        key = ec.generate_private_key(ec.SECP256R1())
        keyPEM = pemKey(key)
        csr = crypto_util.make_csr(keyPEM, list(self._settings.domains))
        order = self._order(csr)
        found = []
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue
            domain = authz.body.identifier.value
            offered = {_kind(c): c for c in authz.body.challenges}
            kind = next((k for k in self._settings.challenges if k in offered), None)
            if kind is None:
                raise AcmeError(
                    f"the CA offers no challenge h2site answers for {domain} "
                    f"(offers {', '.join(offered)}; h2site answers "
                    f"{', '.join(self._settings.challenges)})"
                )
            challb = offered[kind]
            found.append(
                Challenge(
                    domain=domain,
                    kind=kind,
                    token=challb.chall.jobj["token"]
                    if kind != "http-01"
                    else challb.chall.encode("token"),
                    keyAuthorization=self._keyAuthorization(challb, kind),
                    body=challb,
                )
            )
        return PendingOrder(order=order, keyPEM=keyPEM, challenges=tuple(found))

    def _keyAuthorization(self, challb: Any, kind: str) -> str:
        if kind == "http-01":
            return str(challb.chall.validation(self._key))
        # RFC 8555, section 8.1: the token, ".", the account key's thumbprint.
        thumbprint = base64.urlsafe_b64encode(self._key.thumbprint()).rstrip(b"=")
        return f"{challb.chall.jobj['token']}.{thumbprint.decode('ascii')}"

    def suggestedRenewal(self, leafPEM: bytes) -> datetime | None:
        """
        When the CA's renewal information (ARI, RFC 9773) suggests renewing
        the certificate: a time picked at random in its suggested window,
        as the C{acme} library does; L{None} if the CA publishes none.

        @raise AcmeError: if the CA cannot be reached or its answer is not
            renewal information.
        """
        try:
            when, _ = self._connect().renewal_time(leafPEM)
        except Exception as e:
            raise AcmeError(_describe(e)) from e
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when

    def finish(self, pending: PendingOrder) -> bytes:
        """
        Tell the CA the challenges are ready, wait for it to validate and
        issue, and return the new key and full chain as one PEM.

        @raise AcmeError: if validation fails, the CA refuses, or it takes
            too long.
        """
        try:
            acme = self._connect()
            for challenge in pending.challenges:
                response = (
                    challenge.body.chall.response(self._key)
                    if challenge.kind == "http-01"
                    else _Ready()
                )
                acme.answer_challenge(challenge.body, response)
            deadline = datetime.now() + _ORDER_TIMEOUT
            order = acme.poll_and_finalize(pending.order, deadline)
        except Exception as e:
            raise AcmeError(_describe(e)) from e
        chain: str = order.fullchain_pem
        return pending.keyPEM + chain.encode("ascii")
