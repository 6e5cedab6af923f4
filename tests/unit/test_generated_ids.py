"""Generated identifiers are typed as command arguments: none starts with ``-``."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from joserfc.jwk import RSAKey

from authserver import hashing
from authserver.keys import keystore

# A key whose RFC 7638 thumbprint starts with "-" (found by drawing keys).
DASH_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkq2c5CjHv/5O8
1vZEJoXmZNMKU+LidGlq+vW8Xy251BQoXqiYAS1vbgrCRXo7LnGKk143irDrc/gP
E9oQ9qAg1kISsMorXlmpQ6iY59ruDjfPG8/iEjt1LGAgrZ3SDyr1qsEx5mEA0zQM
f8b4n2Qehd2d5P4NJyYS7s6i5K/CgMV9KPXRhopcCHr5puwwq9tDfyxzBH32iTwZ
76uExFw3OuZybR8i274vBLfAt/qkRHvjaDKd46ORuor9dGdI1bjwJKLzNLUgmu5W
YgCyMFUMY5VXNPzlU2NrIR7V3ereNB4HBjmEPyq9tcQZvg9CvF8WxBXGwpNiPQIg
BrHNqZ6fAgMBAAECggEAVxbwuUiovD8ahVFZeZsyZA0CU2yffJ/ZhmUOMjANujiL
dNSYYUwRgd7nOhY790448A4wU/b+aq5AS33ED7HeSqNPhs7OMLY+b7jU/WdQelnv
53EwO2m2O2orMkbtVJNySR4/dkHHsAjASgJgRVBvUTCqtvf/ygKe/Zb2HBP83JZ2
I8TuehuBeLx+AQhgu8Ll1wg7aYQ0DYTuwzWPGkjmQde41vZidhIoM/pTcYV79r5b
nG0x7Q1EA+ALgz/o+FI3c2+pMmeY7O/Uus6UDbxwR29GHivJwLEmKHZ/5ITZ4+m2
NBosCzoQZKOU12dm2/EOnvakVXro/A2Nsn+4XYAcAQKBgQD9NmU6dip9lG8gaEwT
CF1IbJZ45lGxmEkKJwnkBNscSgKSDF+emfaJOIpfSZWHUe80BhbudkeF33M0h+q2
0FEZg/qUU/imZidnSMXOcrWmV5WClDK5J0/YhdmeN5SH71FLyFAdOkmcUb1Niouy
UvIdFnSC1ehhbBDMgS+0PWwHgwKBgQDnL9c8rfcCEctV/5D755z/iaLuxc9giP1H
ht+vDMsMndCr4Pk4h7MCWzYAtoz6lLBVX9pPC2R5awQ53xpNbrilRbD75KRPgJjt
BA7qaKn23yXkrNXgKwe9LTDFQ6dE+gIPpEl5HZa//nkvt+7FRYjWL4S1mzLTh/4p
Jew2XxZFtQKBgCwDyJTg9YHey3JWruKgEZcFSSK65nh4gDnDj3STY4MHWmsIu5ZW
LQStT2BA6j0bgPkKFfJdnREoRl5bQfGFRJOq3WPrNM239CGABOJeDjVcBCEuoaKN
stNwcOOPxcHbV8ZUi5iJCUKi8sUH0ECvKmbkAFy90icdIc5qpmAuTRkBAoGAJFvW
yvlFJrMrunu2DpgPjfTUhh7gDXud8djZZwtpB7PuNInuSCC3W4CCzrvnEiW+Ub8A
c3wEMkBNatiWp2Tpbzy1p/f+i25bHrOLsPwC9wuDRyKThGzgC7WGvQ91yBhVqKYa
1Ax+P/XCk2mnCKl16tGQWottA+2YYFpRev+bXh0CgYEAsa9j91Agu2XtlU7kQtva
+/jJVQU0hf13TypONIeXv+kkdQtVZiU+Y84yRbD4kOeyMvFY7HS4/e11SloZESpZ
2BituQrSi73NpjgaxW6R9QNeu7wTFWUhrStCCZOSdR08KCyyaVIWwpqEU3RWbxBN
/3r8zLgvN1YFzJeTc5qzy7U=
-----END PRIVATE KEY-----
"""


def test_a_key_whose_thumbprint_starts_with_a_dash_is_drawn_again(monkeypatch):
    dash = serialization.load_pem_private_key(DASH_KEY_PEM, password=None)
    assert RSAKey.import_key(dash).thumbprint().startswith("-")
    real = keystore.rsa.generate_private_key
    drawn = iter([dash])
    calls = []

    def generate(**kwargs):
        calls.append(kwargs)
        return next(drawn, None) or real(**kwargs)

    monkeypatch.setattr(keystore.rsa, "generate_private_key", generate)
    private, kid = keystore.new_private_key(2048)
    assert len(calls) == 2 and private is not dash
    assert not kid.startswith("-") and kid == RSAKey.import_key(private).thumbprint()


def test_a_generated_client_id_never_starts_with_a_dash(monkeypatch):
    drawn = iter(["-Nx2", "-q", "A-b_"])
    monkeypatch.setattr(hashing.secrets, "token_urlsafe", lambda n: next(drawn))
    assert hashing.new_identifier(16) == "A-b_"
