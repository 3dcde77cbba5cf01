"""TLS for the IMAP and SMTP clients: one way to make a verifying context, one way to say a server was refused."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

from parsers.errors import ConfigError, ServiceError

# OpenSSL's X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code) that the administrator can act on.
HOSTNAME_MISMATCH = (62, 64)  # a host name, or an IP address, the certificate does not hold
UNTRUSTED = (18, 19, 20, 21)  # self-signed leaf, self-signed in chain, unknown issuer (local or leaf)
EXPIRED = 10


class CertificateRefused(ServiceError):
    """A server's certificate failed its checks: nothing was fetched or sent. Not an OSError, so a poll
    stops with it at once instead of reconnecting to the same certificate."""


class SmtpCertificateRefused(CertificateRefused, smtplib.SMTPException):
    """The SMTP server's certificate failed: an SMTPException too, so the outbox records the line on the
    mail and keeps it, tried again later with backoff like a server that is down."""


def client_context(ca_file: Path | None, key: str) -> ssl.SSLContext:
    """Certificate and host name checks always on; trusting `ca_file` when given, else the system's store."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as error:  # gone since the config was read, or not PEM certificates
        raise ConfigError(f"{key}：无法读取 CA 证书 {ca_file}：{error}") from None


def refused(
    owner: str,
    host: str,
    error: ssl.SSLCertVerificationError,
    nothing: str,
    kind: type[CertificateRefused] = CertificateRefused,
) -> CertificateRefused:
    """One line, Chinese first: who, which server, why, and that nothing was done (`nothing`: 未收取任何邮件)."""
    if error.verify_code in HOSTNAME_MISMATCH:
        why = f"证书与主机名 {host} 不符"
    elif error.verify_code in UNTRUSTED:
        why = "证书不是受信任的 CA 签发（自建 CA 请用 ca_file 指定）"
    elif error.verify_code == EXPIRED:
        why = "证书已过期"
    else:
        why = "证书无效"
    detail = " ".join(str(error.verify_message or error.reason or error).split())
    return kind(f"{owner}: 服务器 {host} 的{why}，已拒绝连接，{nothing} ({detail})")
