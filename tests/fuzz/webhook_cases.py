"""Hypothesis strategies for webhook deliveries, and what the edge must answer to each.

A strategy draws a :class:`Case`: the method, the body, how the signature is made (valid,
missing, forged, of another body, in a wrong encoding, huge...), the other headers and the
content type. :meth:`Case.build` signs at run time (SendGrid's signature covers a timestamp that
must be fresh) and returns the raw request with the oracle the properties check against:
``signed`` (a valid signature for this body: the only deliveries that may be stored), ``ping``
(WooCommerce's unsigned activation request), ``clean`` (every header is UTF-8 text the HTTP
parser takes, so the request reaches the handler).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st

from tests.fuzz.rawhttp import Header
from tests.webhook_support import (
    META_SECRET,
    WOO_SECRET,
    meta_notification,
    sendgrid_events,
    woo_order,
)
from tests.webhook_support import sendgrid_signature as sign_sendgrid

# The edge under test takes bodies up to this size: small, so the 413 path is cheap to reach.
LIMIT = 8192
# SendGrid's default tolerance; drawn timestamps are well inside or well outside it.
TOLERANCE = 300
# The P-256 key standing in for SendGrid's (the test module hands it to the edge's source).
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())

WOO_SIGNATURE = b"X-WC-Webhook-Signature"
META_SIGNATURE = b"X-Hub-Signature-256"
SG_SIGNATURE = b"X-Twilio-Email-Event-Webhook-Signature"
SG_TIMESTAMP = b"X-Twilio-Email-Event-Webhook-Timestamp"
SIGNATURE_NAMES = frozenset(
    n.decode().lower() for n in (WOO_SIGNATURE, META_SIGNATURE, SG_SIGNATURE)
)

# --- header values ------------------------------------------------------------------------------

# UTF-8 text a sender may legitimately put in a header (no controls: the parser refuses them).
clean_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=60)
clean_values = st.one_of(
    clean_text.map(str.encode),
    clean_text.map(str.encode),
    st.integers(500, 1900).map(lambda n: ("\u0103" * n).encode()),  # big, still under 4 KiB
)
# What a broken or hostile sender may send instead: any bytes but CR/LF (those end the header),
# Latin-1 text, and values past the parser's 8 KiB field limit.
raw_bytes = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
latin1 = st.text(st.characters(min_codepoint=0xA0, max_codepoint=0xFF), min_size=1, max_size=20)
huge_values = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from([b"A", "\u0103".encode(), b"\xff"]),
    st.integers(2_000, 12_000),
)
dirty_values = st.one_of(raw_bytes, latin1.map(lambda s: s.encode("latin-1")), huge_values)
header_names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).map(
    lambda s: b"X-Fuzz-" + s.encode()
)
content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            b"application/json",
            b"application/json; charset=utf-8",
            b"text/plain",
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=xyz",
            b"application/octet-stream",
            b"",
        ]
    ),
    clean_values,
)
methods = st.sampled_from(["POST"] * 14 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])


def is_clean(value: bytes) -> bool:
    """True for a header value the parser takes and the edge reads as the same UTF-8 text."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(value) < 4000 and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


# --- bodies -------------------------------------------------------------------------------------


def json_values(*, nul: bool = True) -> st.SearchStrategy[Any]:
    """Any JSON value (big integers, unicode, lone surrogates, NUL unless ``nul=False``)."""
    chars = st.characters() if nul else st.characters(exclude_characters="\x00")
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(chars, max_size=20),
    )
    return st.recursive(
        scalars,
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(st.text(chars, max_size=10), kids, max_size=4)
        ),
        max_leaves=12,
    )


def dumps(value: Any, ascii_only: bool) -> bytes:
    """JSON bytes, escaped (as Meta sends) or raw UTF-8 (surrogates then make it invalid)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def as_json(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """``values`` serialised either way."""
    return st.builds(dumps, values, st.booleans())


oversized = st.integers(LIMIT - 8, 3 * LIMIT).map(lambda n: b'["' + b"a" * n + b'"]')
noise = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"null", b"{}", b"[]", b'"x"']))


def bodies(shaped: st.SearchStrategy[bytes], *, nul: bool = True) -> st.SearchStrategy[bytes]:
    """Partner-shaped payloads most of the time, else any JSON, noise or an oversized body."""
    return st.one_of(shaped, shaped, shaped, as_json(json_values(nul=nul)), noise, oversized)


woo_payloads = st.one_of(
    st.integers(1, 10**6).map(lambda n: woo_order(n, lines=1)),
    as_json(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.integers(), st.none(), st.text(max_size=5), st.floats()),
                "date_modified_gmt": st.one_of(st.text(max_size=25), st.none(), st.integers()),
                "status": json_values(),
                "line_items": json_values(),
            },
        )
    ),
)
woo_topics = st.one_of(
    st.sampled_from(
        [
            b"order.created",
            b"order.updated",
            b"order.deleted",
            b"product.updated",
            b"customer.created",
            b"action.woocommerce_update_order",
            b"",
        ]
    ),
    clean_values,
)

# A wa_id: any JSON value but a string holding NUL (test_whatsapp_contact_with_nul_... has those).
no_nul_text = st.text(st.characters(exclude_characters="\x00"), max_size=15)
wa_ids = st.one_of(
    no_nul_text,
    st.integers(),
    st.none(),
)
wa_messages = st.fixed_dictionaries(
    {}, optional={"id": wa_ids, "from": wa_ids, "type": st.just("text")}
)
wa_statuses = st.fixed_dictionaries(
    {},
    optional={
        "id": wa_ids,
        "status": st.sampled_from(["sent", "delivered", "read", "failed"]),
        "recipient_id": wa_ids,
    },
)
meta_payloads = st.one_of(
    st.builds(
        lambda ms, ss: meta_notification(messages=ms, statuses=ss),
        st.lists(st.tuples(st.text(max_size=12), st.text("0123456789", max_size=12)), max_size=3),
        st.lists(
            st.tuples(st.text(max_size=12), st.sampled_from(["sent", "read"]), no_nul_text),
            max_size=3,
        ),
    ),
    as_json(
        st.fixed_dictionaries(
            {
                "object": st.just("whatsapp_business_account"),
                "entry": st.lists(
                    st.fixed_dictionaries(
                        {
                            "changes": st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "value": st.fixed_dictionaries(
                                            {},
                                            optional={
                                                "metadata": st.fixed_dictionaries(
                                                    {"phone_number_id": wa_ids}
                                                ),
                                                "messages": st.lists(wa_messages, max_size=3),
                                                "statuses": st.lists(wa_statuses, max_size=3),
                                            },
                                        )
                                    }
                                ),
                                max_size=2,
                            )
                        }
                    ),
                    max_size=2,
                ),
            }
        )
    ),
)
sendgrid_payloads = st.one_of(
    st.lists(st.text(max_size=20), max_size=4).map(lambda ids: sendgrid_events(*ids)),
    as_json(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "sg_event_id": st.one_of(st.text(max_size=30), st.none(), st.integers()),
                    "event": st.text(max_size=10),
                    "email": st.text(max_size=20),
                    "timestamp": st.integers(),
                },
            ),
            max_size=5,
        )
    ),
)

# --- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request ready to send, and what the edge must make of it."""

    method: str
    target: bytes
    headers: tuple[Header, ...]
    body: bytes
    chunked: bool
    signed: bool
    ping: bool
    clean: bool
    lenient: bool = False  # validly signed, but the edge may refuse it (non-ASCII digits)
    right_signature: bytes = b""  # what a valid signature would be: never in an answer


@dataclass(frozen=True)
class Case:
    """One drawn delivery to one source; :meth:`build` signs it now."""

    source: str
    method: str
    body: bytes
    signature: str  # how the signature header is made (see _signature)
    forged: bytes  # the bytes a forged signature or timestamp is made of
    headers: tuple[Header, ...]
    content_type: bytes | None
    chunked: bool = False
    stamp: str = "now"  # SendGrid: how the timestamp header is made
    skew: int = 0  # SendGrid: seconds added to the clock for the timestamp

    @property
    def path(self) -> bytes:
        return b"/webhooks/" + self.source.encode()

    def build(self, now: float | None = None) -> Request:
        """The request, signed as of ``now``."""
        now = time.time() if now is None else now
        headers = list(self.headers)
        if self.content_type is not None:
            headers.append((b"Content-Type", self.content_type))
        stamp_ok = True
        stamp = b""
        if self.source == "sendgrid":
            stamp, stamp_ok = self._stamp(now)
            if stamp:
                headers.append((SG_TIMESTAMP, stamp))
        value, valid = self._signature(stamp, self.signature)
        right, _ = self._signature(stamp, "valid")
        if value is not None:
            headers.append((self._signature_name, value))
        ping = (
            self.source == "woocommerce"
            and value is None
            and self.body.startswith(b"webhook_id=")
            and self.body[len(b"webhook_id=") :].isdigit()
            and self.body[len(b"webhook_id=") :].isascii()
        )
        return Request(
            method=self.method,
            target=self.path,
            headers=tuple(headers),
            body=self.body,
            chunked=self.chunked,
            signed=valid and stamp_ok,
            lenient=self.source == "sendgrid" and self.stamp == "arabic",
            right_signature=right or b"",
            ping=ping,
            clean=all(is_clean(v) for _, v in headers),
        )

    @property
    def _signature_name(self) -> bytes:
        return {"woocommerce": WOO_SIGNATURE, "whatsapp": META_SIGNATURE}.get(
            self.source, SG_SIGNATURE
        )

    def _stamp(self, now: float) -> tuple[bytes, bool]:
        """SendGrid's timestamp header and whether it is within the tolerance."""
        when = int(now) + self.skew
        fresh = abs(self.skew) < TOLERANCE - 60
        match self.stamp:
            case "now":
                return str(when).encode(), fresh
            case "arabic":  # int() reads Unicode digits; refusing them is as right (lenient)
                digits = str(when).translate({ord(d): 0x0660 + int(d) for d in "0123456789"})
                return digits.encode(), fresh
            case "missing":
                return b"", False
            case _:  # forged: anything that is not a Unix time near ours
                return self.forged or b"x", False

    def _signature(self, stamp: bytes, mode: str) -> tuple[bytes | None, bool]:
        """The signature header's value (None: left out) and whether it is valid."""
        body = self.body
        if mode == "missing":
            return None, False
        if mode == "empty":
            return b"", False
        if mode in ("bytes", "huge"):
            return self.forged, False
        if self.source == "woocommerce":
            right = base64.b64encode(hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest())
            return {
                "valid": (right, True),
                "other_body": (base64.b64encode(hashlib.sha256(body + b"!").digest()), False),
                "other_secret": (base64.b64encode(_hmac(b"not-ours", body)), False),
                "hex": (_hmac(WOO_SECRET.encode(), body).hex().encode(), False),
                "truncated": (right[:-2], False),
            }[mode]
        if self.source == "whatsapp":
            digest = _hmac(META_SECRET.encode(), body).hex()
            return {
                "valid": (b"sha256=" + digest.encode(), True),
                "other_body": (
                    b"sha256=" + _hmac(META_SECRET.encode(), body + b"!").hex().encode(),
                    False,
                ),
                "other_secret": (b"sha256=" + _hmac(b"not-ours", body).hex().encode(), False),
                "hex": (b"sha256=" + digest.upper().encode(), False),
                "truncated": (digest.encode(), False),  # no "sha256=" prefix
            }[mode]
        text = stamp.decode("utf-8", "replace")
        return {
            "valid": (sign_sendgrid(SENDGRID_KEY, text, body).encode(), True),
            "other_body": (sign_sendgrid(SENDGRID_KEY, text, body + b" ").encode(), False),
            "other_secret": (sign_sendgrid(OTHER_KEY, text, body).encode(), False),
            "hex": (base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01"), False),
            "truncated": (sign_sendgrid(SENDGRID_KEY, text, body)[:-4].encode(), False),
        }[mode]


def _hmac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


signature_modes = st.sampled_from(
    ["valid"] * 6
    + ["missing", "empty", "other_body", "other_secret", "hex", "truncated"]
    + ["bytes", "huge"]
)
forged_values = st.one_of(dirty_values, clean_values, st.just(b"1" + b"0" * 40))


NOW = st.just("now")


@st.composite
def cases(
    draw: st.DrawFn,
    source: str,
    *,
    payloads: st.SearchStrategy[bytes],
    named: dict[bytes, st.SearchStrategy[bytes]],
    stamps: st.SearchStrategy[str] = NOW,
    nul: bool = True,
) -> Case:
    """A delivery to ``source``. ``named`` are the source's own headers; they and extra headers
    may hold bytes that are not UTF-8 text when the signature is not valid (a validly signed
    delivery with such headers is the subject of its own test)."""
    signature = draw(signature_modes)
    may_be_dirty = signature != "valid"
    values = st.one_of(clean_values, clean_values, dirty_values) if may_be_dirty else clean_values
    headers: list[Header] = []
    for name, strategy in named.items():
        if draw(st.integers(0, 9)) < 8:
            headers.append((name, draw(st.one_of(strategy, values) if may_be_dirty else strategy)))
    headers += draw(st.lists(st.tuples(header_names, values), max_size=3))
    forged = draw(forged_values)
    if signature == "huge":
        forged = draw(huge_values)
    stamp = draw(stamps)
    return Case(
        source=source,
        method=draw(methods),
        body=draw(bodies(payloads, nul=nul)),
        signature=signature,
        forged=forged,
        headers=tuple(headers),
        content_type=draw(content_types),
        chunked=draw(st.integers(0, 9)) == 0,
        stamp=stamp,
        skew=draw(st.one_of(st.integers(-120, 120), st.integers(-(10**12), 10**12))),
    )


woo_cases = st.one_of(
    cases(
        "woocommerce",
        payloads=woo_payloads,
        named={
            b"X-WC-Webhook-Topic": woo_topics,
            b"X-WC-Webhook-Resource": clean_values,
            b"X-WC-Webhook-Event": clean_values,
            b"X-WC-Webhook-ID": st.integers(0, 999).map(lambda n: str(n).encode()),
            b"X-WC-Webhook-Delivery-ID": clean_values,
            b"User-Agent": clean_values,
        },
    ),
    # WooCommerce's activation ping, and near misses (the ping is unsigned and exact)
    st.builds(
        lambda body, method: Case(
            source="woocommerce",
            method=method,
            body=body,
            signature="missing",
            forged=b"",
            headers=(),
            content_type=b"application/x-www-form-urlencoded",
        ),
        st.one_of(
            st.integers(0, 10**12).map(lambda n: b"webhook_id=%d" % n),
            st.text(max_size=8).map(lambda s: b"webhook_id=" + s.encode()),
        ),
        methods,
    ),
)
meta_cases = cases(
    "whatsapp",
    payloads=meta_payloads,
    named={b"User-Agent": clean_values},
    nul=False,
)
sendgrid_cases = cases(
    "sendgrid",
    payloads=sendgrid_payloads,
    named={b"User-Agent": clean_values},
    stamps=st.sampled_from(["now"] * 6 + ["arabic", "missing", "forged"]),
)
