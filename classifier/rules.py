"""The domain's vocabulary and rules in one place: reason codes, the avoidable rule, yes/no values.

Every module that decides, derives or explains whether a contact was avoidable calls
:func:`avoidable_reason`; every reader of a yes/no field calls :func:`parse_bool`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNCERTAIN", "REASONS", "AVOIDABLE_REASONS", "GAP_REASONS", "UNDECIDED_REASONS", "avoidable_reason",
           "parse_bool", "TRUE_WORDS", "FALSE_WORDS", "ROW_STATUSES", "TOPIC_STATUSES", "INPUT_FLAGS", "TOPIC_FLAGS",
           "ASSESSMENT_FLAGS", "SERVICE_FLAG_CODES", "CODES", "code_base"]

UNCERTAIN = "uncertain"
REASONS = ("misrouted", "guideline_existed", "back_office_remit", "guideline_came_later", "no_guideline",
           "uncertain_topic", "no_catalogue", "no_text")
AVOIDABLE_REASONS = ("misrouted", "guideline_existed")
GAP_REASONS = ("no_guideline", "guideline_came_later")
# reasons under which no avoidable decision is made (the row's ``avoidable`` is null)
UNDECIDED_REASONS = ("no_catalogue", "no_text")

# a labelled row's ``status``, and its ``predicted.status`` (the topic's)
ROW_STATUSES = ("ok", "no_text", "error")
TOPIC_STATUSES = ("auto", "review", "uncertain")
# a row's ``flags``: what reading and repairing its input found (ingest, repair, label)
INPUT_FLAGS = ("bad_date", "bad_encoding", "boundary_not_found", "broken_headers", "caps_normalised", "charset_repaired",
               "control_chars_removed", "duplicate_message_id", "empty_text", "html_converted", "html_removed",
               "mojibake_fixed", "no_date", "quote_kept", "spacing_fixed", "threaded_by_subject", "truncated")
# ``predicted.flags``: the topic model's (``other_language:sv``: a code, a colon and a detail) and the assessment's
TOPIC_FLAGS = ("no_text", "too_short", "other_language", "below_threshold")
ASSESSMENT_FLAGS = ("no_sent_at:assessed_against_catalogue_today", "catalogue_has_no_guideline_for_topic")
# ``service_flags`` (classifier.service.SERVICE_FLAGS, the same codes)
SERVICE_FLAG_CODES = ("reply_before_request", "first_from_back_office", "request_no_date", "reply_no_date",
                      "later_messages_not_back_office")
#: Every code a labelled row can carry, by kind; each has a Finnish and an English text
#: (:func:`classifier.report.texts.code_text`).
CODES = {"reason": REASONS, "status": tuple(dict.fromkeys(ROW_STATUSES + TOPIC_STATUSES)),
         "flag": tuple(dict.fromkeys(INPUT_FLAGS + TOPIC_FLAGS + ASSESSMENT_FLAGS + SERVICE_FLAG_CODES))}


def code_base(code: str) -> str:
    """A code without its detail: ``other_language:sv`` -> ``other_language`` (registered codes are kept whole)."""
    if code in CODES["flag"]:
        return code
    return code.split(":", 1)[0]


TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "kyllä", "kylla", "k"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "ei", "e"})


def avoidable_reason(category: Any, covered_in_force: bool | None, covered_later: bool = False
                     ) -> tuple[bool | None, str]:
    """The spec's avoidable-contact rule: ``(avoidable, reason)``.

    Parameters
    ----------
    category : Category or None
        The request's topic in the taxonomy (``None``: a topic the taxonomy does not know,
        treated as the agent's own task).
    covered_in_force : bool or None
        Whether a guideline in force on the request's local date covers it; ``None`` when
        there is no catalogue to tell.
    covered_later : bool
        Whether a covering guideline was published only after the request.

    Returns
    -------
    (bool or None, str)
        The decision and its reason code (one of ``REASONS``).
    """
    if category is not None and category.misrouted:
        return True, "misrouted"
    if category is not None and category.back_office_remit:
        return False, "back_office_remit"
    if covered_in_force is None:
        return None, "no_catalogue"
    if covered_in_force:
        return True, "guideline_existed"
    if covered_later:
        return False, "guideline_came_later"
    return False, "no_guideline"


def parse_bool(v: Any) -> bool | None:
    """Read a yes/no value from JSON, CSV text (English or Finnish) or a number; None when empty.

    Raises
    ------
    ValueError
        The value is not a recognisable yes or no (the message shows at most 20 characters).
    """
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("", "none", "null"):
            return None
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
    from .redact import Redactor

    shown = Redactor().redact(str(v))
    shown = shown if len(shown) <= 20 else shown[:20] + "…"
    raise ValueError(f"expected true or false (or kyllä / ei), found {shown!r}")
