"""Certificate authorities and serving certificates for the fake kube-apiserver's TLS mode.

`ClusterCA` is a persistent CA (the sandbox keeps one per simulated Sovereign, like k3s's
server CA) that issues serving certificates; `make_serving_cert` is the throwaway CA plus
certificate a bare `FakeKubeServer(tls=True)` uses.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ClusterCA", "ServingCert", "make_serving_cert"]


@dataclass(frozen=True)
class ServingCert:
    """PEM bytes of the CA certificate, the serving certificate and its private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


_CA_LIFETIME = dt.timedelta(days=3650)
_SERVING_LIFETIME = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class ClusterCA:
    """PEM certificate and private key of a cluster CA."""

    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def generate(cls, common_name: str) -> ClusterCA:
        """A new self-signed CA (`k3s-server-ca@<name>` style)."""
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        usage = x509.KeyUsage(
            digital_signature=True,
            key_cert_sign=True,
            crl_sign=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def issue_serving(self, hosts: tuple[str, ...], *, subject: str = "k3s") -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) of a new serving certificate for `hosts`."""
        ca_cert = x509.load_pem_x509_certificate(self.cert_pem)
        ca_key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError("cluster CA key must be an EC key")
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _SERVING_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def make_serving_cert(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServingCert:
    """A fresh CA and a server certificate it signed, valid for `hosts`."""
    ca = ClusterCA.generate("fakekube-ca")
    cert_pem, key_pem = ca.issue_serving(hosts, subject="fakekube-apiserver")
    return ServingCert(ca_pem=ca.cert_pem, cert_pem=cert_pem, key_pem=key_pem)
