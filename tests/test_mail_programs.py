"""Mail as the clerks' programs send it, answered as a clerk expects: a digital signature is no file of theirs."""

from __future__ import annotations

import email
from datetime import datetime
from email import policy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart

from tests.webapp import SHANGHAI, _message, receipt_texts, store_one


def test_an_smime_signature_is_not_told_to_the_clerk_as_a_file_to_fix(config, deps):
    arrival = datetime.now(SHANGHAI)
    package = email.message_from_bytes(
        _message("zqxcl@163.com", "枣强县4月份报表", arrival, "报表见附件。", ("summary-unit-row-only.xlsx",)),
        policy=policy.default,
    )
    signed = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256")
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        signed[name] = package[name]
    del package["From"], package["To"], package["Subject"], package["Date"], package["Message-ID"]
    signed.attach(package)
    signature = MIMEApplication(bytes(300), "pkcs7-signature", name="smime.p7s")
    signature.add_header("Content-Disposition", "attachment", filename="smime.p7s")
    signed.attach(signature)
    store_one(deps, signed.as_bytes())
    [text] = receipt_texts(config, deps, arrival)
    assert "summary-unit-row-only.xlsx" in text and "smime.p7s" not in text
