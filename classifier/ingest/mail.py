"""Mail contacts: the two passes over one mail source (thread map from the headers, then one contact per thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from ..repair import repair_text
from .contact import Contact, QUOTE_MARKER, ThreadMessage, _error_contact, _replace, _stable_id
from .mime import _Body
from .mbox import _MboxReader
from .files import _FileSetReader
from .clean import _JUNK_RE, _clean
from .threads import _ThreadIndex, _ThreadPlan

if TYPE_CHECKING:  # sources imports this module
    from .sources import _Source


# --------------------------------------------------------------------------- mail contacts


def _mail_contacts(src: _Source, keep_stripped: bool) -> Iterator[Contact]:
    """Two passes over one mail source: thread map from headers, then one contact per thread."""
    reader: Any = _MboxReader(src.paths[0]) if src.kind == "mbox" else _FileSetReader(src.paths)
    index = _ThreadIndex()
    files = src.kind == "files"
    for head in reader.heads():
        index.add(head)
    plan = index.plan()
    del index
    n_items = len(plan.msgids)

    def where_of(pos: int) -> str:
        """The file a message position is in."""
        return str(src.paths[pos]) if files else str(src.paths[0])

    def position_of(pos: int) -> int:
        """A message's position within its file."""
        return 0 if files else pos  # an .eml or .msg file holds one message

    # Contacts go out in order of their request's position; with keep_stripped a contact
    # waits until the last message of its thread has been read.
    order = sorted(plan.request_of)
    ready: dict[int, Contact] = {}
    nxt = 0
    root_of: dict[int, int] = {}
    remaining: dict[int, int] = {}
    waiting: dict[int, Contact] = {}
    replies: dict[int, dict[int, str]] = {}
    if keep_stripped:
        root_of = {p: r for r, ms in plan.members.items() for p in ms}
        remaining = {r: len(ms) for r, ms in plan.members.items()}
    wanted = None if keep_stripped else set(plan.request_of)
    for pos, body in reader.bodies(wanted):
        if pos >= n_items:
            break  # the file grew between the passes: its new messages are left for the next run
        root = plan.request_of.get(pos)
        if root is not None:
            contact = _contact_from_body(pos, root, body, plan, where_of(pos), position_of(pos), keep_stripped)
            if keep_stripped:
                waiting[root] = contact
            else:
                ready[pos] = contact
        if keep_stripped:
            r = root_of[pos]
            if root is None and body.error is None:
                replies.setdefault(r, {})[pos] = _clean(body.text, first=False, forwarded=body.forwarded).own
            remaining[r] -= 1
            if remaining[r] == 0 and r in waiting:
                ready[plan.members[r][0]] = _with_replies(waiting.pop(r), replies.pop(r, {}), plan.members[r])
        while nxt < len(order) and order[nxt] in ready:
            yield ready.pop(order[nxt])
            nxt += 1
    # Threads left incomplete (the file changed between the passes) go out as they are.
    for r, c in waiting.items():
        ready[plan.members[r][0]] = _with_replies(c, replies.get(r, {}), plan.members[r])
    while nxt < len(order):
        pos = order[nxt]
        if pos in ready:
            yield ready.pop(pos)
        else:
            where = where_of(pos)
            yield _error_contact(where, position_of(pos),
                                 f"{where}: message {pos + 1} could not be read again in the second pass "
                                 "(was the file changed while it was read?)", msgid=plan.msgids[pos])
        nxt += 1


def _with_replies(c: Contact, replies: dict[int, str], members: list[int]) -> Contact:
    """The buffered contact with its replies' own words, in thread order."""
    if c.stripped is None:
        return c
    stripped = dict(c.stripped)
    stripped["replies"] = [replies[p] for p in members[1:] if p in replies]
    return _replace(c, stripped=stripped)

def _contact_from_body(pos: int, root: int, body: _Body, plan: _ThreadPlan, where: str, position: int,
                       keep_stripped: bool) -> Contact:
    """The contact of a thread from its first message's parsed body."""
    return _assemble_contact(body, where, position, *_request_facts(pos, root, plan),
                             thread=_thread_of(plan, plan.members[root]), keep_stripped=keep_stripped)


def _request_facts(pos: int, root: int, plan: _ThreadPlan) -> tuple[str | None, tuple[str, ...], int, bool, bool]:
    """What a request's contact takes from the thread plan: its Message-ID, the thread's ids, its size,
    whether the id is a duplicate and whether the thread took in a message by subject alone."""
    members = plan.members[root]
    ids = tuple(plan.msgids[p] for p in members if plan.msgids[p])
    return plan.msgids[pos], ids, len(members), pos in plan.duplicates, root in plan.by_subject


def _thread_of(plan: _ThreadPlan, members: list[int]) -> tuple[ThreadMessage, ...]:
    """The thread's messages as the service analytics see them, in time order."""
    return tuple(ThreadMessage(sent_at=plan.dates[p], sender=plan.senders[p], recipients=plan.recipients[p],
                               is_reply=bool(plan.replyish[p])) for p in members) if plan.dates else ()


def _assemble_contact(body: _Body, where: str, position: int, msgid: str | None, ids: tuple[str, ...],
                      n_messages: int, duplicate: bool, by_subject: bool, thread: tuple[ThreadMessage, ...] = (),
                      keep_stripped: bool = False) -> Contact:
    """The contact of a thread from its request's parsed body and the facts :func:`_request_facts` gives."""
    head = body.head
    flags = set(body.flags)
    if duplicate:
        msgid = None  # the id is another message's: this contact gets its own stable id
        flags.add("duplicate_message_id")
    if head is not None:
        flags.update(head.flags)
    if by_subject:
        flags.add("threaded_by_subject")
    base = dict(
        id=msgid or _stable_id(where, position), source=where, position=position, channel="email",
        sent_at=head.date if head else None, subject=head.subject if head else None,
        n_messages=n_messages, message_ids=ids, attachments=tuple(body.attachments), thread=thread,
    )
    if body.error is not None:
        return Contact(text="", flags=tuple(sorted(flags)), error=body.error,
                       stripped={"quoted": "", "signature": "", "replies": []} if keep_stripped else None, **base)
    if _JUNK_RE.search(body.text):
        flags.add("control_chars_removed")  # binary junk inside the message, e.g. a damaged mbox
    cleaned = _clean(body.text, first=True, forwarded=body.forwarded)
    text, repairs = repair_text(cleaned.request_text())
    flags.update(repairs)
    if cleaned.kept:
        flags.add("quote_kept")
    if not text.strip() or text.strip() == QUOTE_MARKER:
        flags.add("empty_text")
    stripped = None
    if keep_stripped:
        stripped = {"quoted": cleaned.dropped, "signature": cleaned.signature, "replies": []}
    return Contact(text=text, flags=tuple(sorted(flags)), stripped=stripped, **base)
