"""
Tests for L{h2site.acme.settings}: the C{--acme-*} values.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from h2site.acme.settings import (
    DIRECTORIES,
    LETS_ENCRYPT,
    AcmeSettings,
    parseDirectory,
    parseDomain,
    parseEmail,
    stateFolderName,
)
from h2site.errors import ConfigError


class ParseTests(SynchronousTestCase):
    def test_domain(self) -> None:
        """
        Host names are kept lower case without a final dot; wildcards, IP
        addresses, single labels and bad labels are one line each.
        """
        self.assertEqual(parseDomain("WWW.Example.org."), "www.example.org")
        self.assertEqual(parseDomain("xn--caf-dma.example"), "xn--caf-dma.example")
        for bad, words in [
            ("*.example.org", "wildcard"),
            ("192.0.2.1", "not a host name"),
            ("localhost", "not a host name"),
            ("-a.example", "not a host name"),
            ("a_b.example", "not a host name"),
            ("", "not a host name"),
        ]:
            with self.assertRaises(ConfigError) as caught:
                parseDomain(bad)
            self.assertIn(words, str(caught.exception))
            self.assertIn("--acme-domain", str(caught.exception))

    def test_directory(self) -> None:
        """
        Shorthands name Let's Encrypt's directories; any other value must be
        an https:// URL.
        """
        self.assertEqual(parseDirectory("letsencrypt"), LETS_ENCRYPT)
        self.assertEqual(
            parseDirectory("LetsEncrypt-Staging"), DIRECTORIES["letsencrypt-staging"]
        )
        self.assertEqual(parseDirectory("https://ca.test/dir"), "https://ca.test/dir")
        for bad in ("http://ca.test/dir", "ca.test/dir", "https:///dir", "staging"):
            with self.assertRaises(ConfigError) as caught:
                parseDirectory(bad)
            self.assertIn("is not an https:// URL", str(caught.exception))

    def test_email(self) -> None:
        """
        An address is name@host.domain; anything else is one line.
        """
        self.assertEqual(parseEmail(" ops@example.org "), "ops@example.org")
        for bad in ("ops", "ops@localhost", "@example.org", "a b@example.org"):
            with self.assertRaises(ConfigError):
                parseEmail(bad)

    def test_stateFolderName(self) -> None:
        """
        Each CA keeps its account in a folder named after its directory.
        """
        self.assertEqual(
            stateFolderName(LETS_ENCRYPT), "acme-v02.api.letsencrypt.org-directory"
        )
        self.assertEqual(
            stateFolderName("https://localhost:14000/dir"), "localhost-14000-dir"
        )

    def test_certificatePath(self) -> None:
        """
        The certificate file is named after the first domain.
        """
        settings = AcmeSettings(domains=("a.example", "b.example"), folder="/s")
        self.assertEqual(str(settings.certificatePath), "/s/a.example.pem")
        self.assertFalse(AcmeSettings().enabled)
