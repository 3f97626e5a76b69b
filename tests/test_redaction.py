"""The one redaction rule: no secret survives, whichever way it is written."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs_console.domain.redaction import MIN_SECRET_LEN, REDACTED, Redactor, looks_like_secret, redact

# Printable secrets of any script, including blanks and the mask's own '*'.
SECRETS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=MIN_SECRET_LEN, max_size=40)
AROUND = st.text(max_size=60)


def _libpq_quoted(secret: str) -> str:
    return "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Every way a secret leaves the process: (name, how it is written, the spellings that must not survive).
WAYS = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote_path": lambda s: quote(s),
    "quote_plus": lambda s: quote_plus(s),
    "dsn_url": lambda s: f"postgresql://app:{quote(s, safe='')}@db.example.com:5432/postgres",
    "dsn_url_plus": lambda s: f"postgresql://app:{quote_plus(s)}@db.example.com:5432/postgres?sslmode=require",
    "dsn_kv": lambda s: f"host=db.example.com port=5432 user=app password={_libpq_quoted(s)} dbname=postgres",
    "dsn_query": lambda s: f"postgresql://app@db/postgres?password={quote(s, safe='')}&sslmode=require",
    "json": lambda s: json.dumps({"password": s, "note": "x"}),
    "json_unicode": lambda s: json.dumps({"token": s}, ensure_ascii=False),
    "json_in_json": lambda s: json.dumps({"body": json.dumps({"key": s})}),
    "json_dsn": lambda s: json.dumps({"dsn": f"postgresql://u:{quote(s, safe='')}@h/db"}),
    "repeated": lambda s: s + s + " " + s,
    "header": lambda s: f"Authorization: Bearer {s}\napikey: {s}",
}


def _spellings(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {f for f in forms if len(f) >= MIN_SECRET_LEN}


@settings(max_examples=300, deadline=None)
@given(secret=SECRETS, way=st.sampled_from(sorted(WAYS)), before=AROUND, after=AROUND)
def test_no_known_secret_survives_any_spelling(secret: str, way: str, before: str, after: str) -> None:
    shown = Redactor([secret]).text(before + WAYS[way](secret) + after)
    for spelling in _spellings(secret):
        assert spelling not in shown, (way, spelling)


@settings(max_examples=200, deadline=None)
@given(secret=SECRETS, before=AROUND, after=AROUND)
def test_no_known_secret_survives_inside_json_like_values(secret: str, before: str, after: str) -> None:
    shown = Redactor([secret]).value({"a": [before + secret + after, {"b": secret}], "n": 3})
    first, inner = shown["a"]
    assert secret not in first and secret not in inner["b"]
    assert shown["n"] == 3


# Unknown values: the credential's shape alone is enough.
TOKEN_CHARS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=6, max_size=40)


@settings(max_examples=200, deadline=None)
@given(body=TOKEN_CHARS, before=st.sampled_from(["", "x ", "k=", "\"", "(", "error: "]))
def test_credential_shapes_are_redacted_without_knowing_the_value(body: str, before: str) -> None:
    # A body that is part of the fixed wording ("publis" in "sb_publishable_") can't be told apart from it.
    texts = _CREDENTIAL_TEMPLATES
    assume(all(body not in before + t.replace("{body}", "") + " tail" for t in texts))
    for text in (t.replace("{body}", body) for t in texts):
        shown = redact(before + text + " tail")
        assert body not in shown, text
        assert shown.endswith(" tail")


_CREDENTIAL_TEMPLATES = (
    "sbp_{body}", "sb_secret_{body}", "sb_publishable_{body}", "eyJ{body}.eyJ{body}.{body}",
    "postgresql://app:{body}@h:5432/db", "https://u:{body}@example.com/x", "password={body}",
    "PGPASSWORD={body}", "access_token: {body}", '"apikey": "{body}"', "x-api-key: {body}",
    "Bearer {body}", "Basic {body}", "Authorization: Token {body}", "db?user=a&password={body}&x=1",
)


def test_redaction_is_idempotent_and_keeps_the_shape() -> None:
    once = redact("sbp_abcdef123 sb_secret_abcdef Bearer abcdefgh postgresql://u:pw@h/db password=hunter22 Authorization: Basic dXNlcg==")
    assert once == "sbp_*** sb_secret_*** Bearer *** postgresql://u:***@h/db password=*** Authorization: Basic ***"
    assert redact(once) == once


def test_short_values_and_the_mask_itself() -> None:
    assert Redactor(["x"]).text("x marks") == "x marks"  # one character is not a secret
    assert Redactor(["pw"]).text("my pw") == f"my {REDACTED}"  # the PostgreSQL backend's rule: two are
    assert "**" not in Redactor(["**"]).text("a ** b")
    assert "a***b" not in Redactor(["a***b"]).text("aa***bb")


def test_looks_like_secret() -> None:
    assert looks_like_secret("sbp_0123") and looks_like_secret("eyJhbGci") and looks_like_secret("A" * 32)
    assert not looks_like_secret("SUPABASE_ACCESS_TOKEN") and not looks_like_secret("PGPASSWORD")
