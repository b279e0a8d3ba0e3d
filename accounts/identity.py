"""Canonical forms of usernames and email addresses, so one name cannot be registered twice
in another guise (full-width letters, another case, a Cyrillic look-alike, a Unicode domain).

- Usernames are NFKC-normalised (full-width and other compatibility forms fold to one).
- `username_key` is the name's look-alike skeleton: characters that the Unicode confusables
  data (confusable_homoglyphs) lists as homoglyphs of an ASCII character are replaced by
  it, then the result is case-folded. Two names with one key look alike; the key is unique.
- Email addresses: the domain is IDNA-encoded (UTS #46) and lower-cased, the local part
  NFKC-normalised; quoted local parts are refused (they name the same mailbox many ways).
"""

from __future__ import annotations

import unicodedata

import idna
from confusable_homoglyphs import confusables
from django.core.exceptions import ValidationError

QUOTED_EMAIL = "Quoted or escaped email addresses are not accepted."
INVALID_EMAIL = "Enter a valid email address."


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username or "")


def username_key(username: str) -> str:
    """The look-alike skeleton of a username (see the module docstring)."""
    name = normalize_username(username)
    found = confusables.is_confusable(name, greedy=True, preferred_aliases=["latin"]) or []
    replacements = {}
    for item in found:
        ascii_forms = [h["c"] for h in item["homoglyphs"] if h["c"].isascii()]
        if ascii_forms:
            replacements[item["character"]] = ascii_forms[0]
    skeleton = "".join(replacements.get(char, char) for char in name)
    return unicodedata.normalize("NFKC", skeleton.casefold())


def normalize_email(email: str) -> str:
    """The canonical form of an address; raises ValidationError for quoted local parts."""
    email = (email or "").strip()
    if not email:
        return ""
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(INVALID_EMAIL)
    if '"' in local or "\\" in local:
        raise ValidationError(QUOTED_EMAIL)
    try:
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValidationError(INVALID_EMAIL) from exc
    return f"{unicodedata.normalize('NFKC', local)}@{ascii_domain.lower()}"
