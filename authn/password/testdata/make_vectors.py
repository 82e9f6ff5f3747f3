#!/usr/bin/env python3
"""Prints the known-answer vectors in vectors_test.go that come from Python.

These hashes are made with implementations independent of golang.org/x/crypto:
hashlib (OpenSSL) for PBKDF2 and scrypt, and the system's libxcrypt (through the
crypt module, Python 3.12 and older) for bcrypt. Salts are fixed so that a rerun
prints the same lines. Run: python3 testdata/make_vectors.py
"""
import base64
import crypt
import hashlib

STD = base64.b64encode


def raw_b64(b):
    return STD(b).decode().rstrip("=")


def adapted_b64(b):
    # passlib's and Authelia's "adapted base64": '.' for '+', no padding.
    return raw_b64(b).replace("+", ".")


def line(name, encoded, password):
    # split before the key so that lines stay under 100 columns
    head, key = encoded.rsplit("$", 1)
    if "$2" in head[:3]:
        head, key = encoded, ""
    print("\t{%s," % go_str(name))
    if key:
        print("\t\t%s +\n\t\t\t%s," % (go_str(head + "$"), go_str(key)))
    else:
        print("\t\t%s," % go_str(head))
    print("\t\t%s}," % go_str(password))


def go_str(s):
    out = '"'
    for ch in s.encode():
        if ch in (0x22, 0x5C):
            out += "\\" + chr(ch)
        elif 0x20 <= ch < 0x7F:
            out += chr(ch)
        else:
            out += "\\x%02x" % ch
    return out + '"'


def pbkdf2(prefix, digest, iterations, salt, password, key_len):
    key = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations, key_len)
    return "$%s$%d$%s$%s" % (prefix, iterations, adapted_b64(salt), adapted_b64(key))


def scrypt(ln, r, p, salt, password, key_len):
    key = hashlib.scrypt(password.encode(), salt=salt, n=1 << ln, r=r, p=p,
                         maxmem=1 << 30, dklen=key_len)
    return "$scrypt$ln=%d,r=%d,p=%d$%s$%s" % (ln, r, p, raw_b64(salt), raw_b64(key))


SALT16 = bytes(range(0xF0, 0x100))  # high bytes give '+' and '/' in base64
PW = "correct horse battery staple"
UTF8 = "p\u00e4ssw\u00f6rd \u2603"

line("pbkdf2 sha1", pbkdf2("pbkdf2", "sha1", 1000, SALT16, PW, 20), PW)
line("pbkdf2-sha1 alias", pbkdf2("pbkdf2-sha1", "sha1", 1000, SALT16, PW, 20), PW)
line("pbkdf2-sha224", pbkdf2("pbkdf2-sha224", "sha224", 1000, SALT16, PW, 28), PW)
line("pbkdf2-sha256", pbkdf2("pbkdf2-sha256", "sha256", 1000, SALT16, PW, 32), PW)
line("pbkdf2-sha256 utf8", pbkdf2("pbkdf2-sha256", "sha256", 1, b"saltsalt", UTF8, 32), UTF8)
line("pbkdf2-sha384", pbkdf2("pbkdf2-sha384", "sha384", 1000, SALT16, PW, 48), PW)
line("pbkdf2-sha512", pbkdf2("pbkdf2-sha512", "sha512", 1000, SALT16, PW, 64), PW)
line("scrypt ln=4 r=8 p=1", scrypt(4, 8, 1, SALT16, PW, 32), PW)
line("scrypt ln=5 r=1 p=3 utf8", scrypt(5, 1, 3, b"saltsalt", UTF8, 16), UTF8)

# bcrypt: libxcrypt reads the salt from the setting string.
BSALT = "abcdefghijklmnopqrstuu"
line("bcrypt 2b libxcrypt", crypt.crypt(PW, "$2b$04$" + BSALT), PW)
line("bcrypt 2y libxcrypt utf8", crypt.crypt(UTF8, "$2y$05$" + BSALT), UTF8)
PW72 = "0123456789" * 7 + "ab"
assert len(PW72) == 72
line("bcrypt 2b 72 bytes", crypt.crypt(PW72, "$2b$04$" + BSALT), PW72)
