"""SendGrid's rules on a Mail Send body, as the simulator enforces them.

From ``tsg_mail_v3.json`` and SendGrid's limitations page: ``personalizations`` and ``from`` are
required, each personalization needs ``to``; content values are non-empty and text/plain comes
first, then text/html; attachments are Base64 with a filename; at most 1000 recipients (to, cc,
bcc) and 1000 personalizations; ``custom_args`` under 10,000 bytes; no Unicode in ``from``;
``send_at`` at most 72 hours ahead; at most 10 unique categories of 255 characters; the whole
message under 30 MB (checked on the request size). Messages follow SendGrid's wording.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import msgspec

MAX_BYTES = 30 * 1024 * 1024
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS = 10_000
MAX_SEND_AHEAD = 72 * 3600


@dataclass(frozen=True)
class Problem:
    """The first rule a body breaks: SendGrid's ``field`` and ``message``."""

    field: str | None
    message: str


def validate(body: Any, *, now: float) -> Problem | None:
    """The first broken rule of ``body``, or None when SendGrid would accept it."""
    if not isinstance(body, dict):
        return Problem(None, "Bad Request")
    return (
        _personalizations(body.get("personalizations"), now)
        or _sender(body.get("from"))
        or _content(body.get("content"))
        or _attachments(body.get("attachments"))
        or _categories(body.get("categories"))
        or _custom_args("custom_args", body.get("custom_args"))
        or _send_at("send_at", body.get("send_at"), now)
    )


def _personalizations(value: Any, now: float) -> Problem | None:
    if not isinstance(value, list) or not value:
        return Problem(
            "personalizations",
            "The personalizations field is required and must have at least one personalization.",
        )
    if len(value) > 1000:
        return Problem("personalizations", "The personalizations field must be 1000 or fewer.")
    total = 0
    for i, person in enumerate(value):
        to = person.get("to") if isinstance(person, dict) else None
        if not isinstance(to, list) or not to:
            return Problem(
                f"personalizations.{i}.to",
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.",
            )
        for kind in ("to", "cc", "bcc"):
            for j, who in enumerate(person.get(kind) or []):
                if not isinstance(who, dict) or not _is_email(who.get("email")):
                    return Problem(
                        f"personalizations.{i}.{kind}.{j}.email",
                        "Does not contain a valid address.",
                    )
                total += 1
        problem = _custom_args(f"personalizations.{i}.custom_args", person.get("custom_args"))
        problem = problem or _send_at(f"personalizations.{i}.send_at", person.get("send_at"), now)
        if problem:
            return problem
    if total > MAX_RECIPIENTS:
        return Problem(
            "personalizations",
            "The total number of recipients must be less than 1000. This includes all "
            "recipients defined within the to, cc, and bcc parameters, across each object that "
            "you include in the personalizations array.",
        )
    return None


def _sender(value: Any) -> Problem | None:
    if not isinstance(value, dict) or not value.get("email"):
        return Problem(
            "from.email",
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.",
        )
    if not _is_email(value["email"]) or not value["email"].isascii():
        return Problem("from.email", "The from email does not contain a valid address.")
    return None


def _content(value: Any) -> Problem | None:
    if value is None:
        return None  # a template may supply it; the hub always sends content
    if not isinstance(value, list) or not value:
        return Problem(
            "content",
            "Unless a valid template_id is provided, the content "
            "parameter is required. There must be at least one defined content "
            "block.",
        )
    for i, part in enumerate(value):
        if not isinstance(part, dict) or not part.get("type"):
            return Problem(f"content.{i}.type", "The content type cannot be blank.")
        if not isinstance(part.get("value"), str) or not part["value"]:
            return Problem(
                f"content.{i}.value",
                "The content value must be a string at least one character in length.",
            )
    kinds = [p["type"] for p in value]
    expected = sorted(kinds, key=lambda k: {"text/plain": 0, "text/html": 1}.get(k, 2))
    if kinds != expected:
        return Problem(
            "content",
            "If present, text/plain content must be first, followed by text/html, followed by "
            "any other content.",
        )
    return None


def _attachments(value: Any) -> Problem | None:
    for i, item in enumerate(value or []):
        if not isinstance(item, dict) or not item.get("filename"):
            return Problem(f"attachments.{i}.filename", "The attachment filename is required.")
        try:
            if not item.get("content"):
                raise binascii.Error
            base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            return Problem(
                f"attachments.{i}.content", "The attachment content must be base64 encoded."
            )
        if item.get("disposition", "attachment") not in ("attachment", "inline"):
            return Problem(
                f"attachments.{i}.disposition",
                'The disposition of your attachment can be either "inline" or "attachment".',
            )
    return None


def _categories(value: Any) -> Problem | None:
    items = value or []
    if len(items) > 10 or len(set(items)) != len(items):
        return Problem("categories", "Too many categories: at most 10 unique categories.")
    if any(not isinstance(c, str) or len(c) > 255 for c in items):
        return Problem("categories", "A category cannot be more than 255 characters.")
    return None


def _custom_args(field: str, value: Any) -> Problem | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(msgspec.json.encode(value)) >= MAX_CUSTOM_ARGS:
        return Problem(
            field,
            "The custom_args field must be an object and its total size must be less than "
            "10,000 bytes.",
        )
    return None


def _send_at(field: str, value: Any, now: float) -> Problem | None:
    if value is None:
        return None
    if not isinstance(value, int) or value > now + MAX_SEND_AHEAD:
        return Problem(
            field, "The send_at parameter cannot be scheduled more than 72 hours in advance."
        )
    return None


def _is_email(value: Any) -> bool:
    if not isinstance(value, str) or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    return bool(local) and "." in domain and " " not in value
