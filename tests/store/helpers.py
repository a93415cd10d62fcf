"""Helpers of the store tests: the example mailbox and a later export of it with new mail."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import CORPUS

EXAMPLES = CORPUS / "examples"
MBOX = EXAMPLES / "syyskuu-2016.mbox"
CALLS = EXAMPLES / "puhelut-syyskuu-2016.csv"

BO = "Sopimustiimi <sopimustiimi@sahkoyhtio.example>"


def _msg(sep: str, headers: list[tuple[str, str]], body: str) -> bytes:
    """One mbox message: From line, headers, body."""
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    return (f"From {sep}\n{head}MIME-Version: 1.0\nContent-Type: text/plain; charset=\"utf-8\"\n"
            f"Content-Transfer-Encoding: 8bit\n\n{body}\n\n").encode("utf-8")


# October mail: what a later export of the shared mailbox holds besides September's
NEW_MAIL = [
    # a back-office answer to a September thread that had no answer (joins it by In-Reply-To)
    _msg("sopimustiimi@sahkoyhtio.example Mon Oct  3 06:00:00 2016", [
        ("From", BO), ("To", "Anne Aaltonen <anne.aaltonen@palvelukumppani.example>"),
        ("Subject", "RE: kirjautuminen"), ("Date", "Mon, 03 Oct 2016 09:00:00 +0300"),
        ("Message-ID", "<20161003060000.AAAA00000001@sahkoyhtio.example>"),
        ("In-Reply-To", "<20160901075600.E0A7FBD0B7DB@palvelukumppani.example>"),
        ("References", "<20160901075600.E0A7FBD0B7DB@palvelukumppani.example>")],
        "Hei, tunnukset on nyt avattu uudelleen.\nTerveisin sopimustiimi"),
    # an agent's follow-up tied to a September thread by its subject alone (two threads share it)
    _msg("anni.salonen@palvelukumppani.example Mon Oct  3 07:30:00 2016", [
        ("From", "Anni Salonen <anni.salonen@palvelukumppani.example>"), ("To", BO),
        ("Subject", "VS: Kp puuttuu"), ("Date", "Mon, 03 Oct 2016 10:30:00 +0300"),
        ("Message-ID", "<20161003073000.AAAA00000002@palvelukumppani.example>")],
        "Vieläkö tähän tulee vastaus? Asiakas soitti uudelleen."),
    # a new request, answered in the same export
    _msg("jenna.leinonen@palvelukumppani.example Tue Oct  4 06:10:00 2016", [
        ("From", "Jenna Leinonen <jenna.leinonen@palvelukumppani.example>"), ("To", BO),
        ("Subject", "Muutto lokakuussa"), ("Date", "Tue, 04 Oct 2016 09:10:00 +0300"),
        ("Message-ID", "<20161004061000.AAAA00000003@palvelukumppani.example>")],
        "Hei!\nAsiakas muuttaa 15.10. uuteen osoitteeseen ja haluaa sähkösopimuksen sinne. "
        "Miten sopimus tehdään, kun vanha asunto jää tyhjäksi?"),
    _msg("sopimustiimi@sahkoyhtio.example Tue Oct  4 09:40:00 2016", [
        ("From", BO), ("To", "Jenna Leinonen <jenna.leinonen@palvelukumppani.example>"),
        ("Subject", "RE: Muutto lokakuussa"), ("Date", "Tue, 04 Oct 2016 12:40:00 +0300"),
        ("Message-ID", "<20161004094000.AAAA00000004@sahkoyhtio.example>"),
        ("In-Reply-To", "<20161004061000.AAAA00000003@palvelukumppani.example>")],
        "Hei, uusi sopimus tehdään muuttoilmoituksella verkkopalvelussa."),
    # a new request without an answer
    _msg("noora.turunen@palvelukumppani.example Wed Oct  5 05:20:00 2016", [
        ("From", "Noora Turunen <noora.turunen@palvelukumppani.example>"), ("To", BO),
        ("Subject", "Lasku"), ("Date", "Wed, 05 Oct 2016 08:20:00 +0300"),
        ("Message-ID", "<20161005052000.AAAA00000005@palvelukumppani.example>")],
        "Asiakas ihmettelee loppulaskua, se on hänen mielestään liian suuri. Kenelle tämä kuuluu?"),
    # a September Message-ID again, with other content: a message of its own, flagged
    _msg("niko.virtanen@palvelukumppani.example Wed Oct  5 08:00:00 2016", [
        ("From", "Niko Virtanen <niko.virtanen@palvelukumppani.example>"), ("To", BO),
        ("Subject", "kysymys"), ("Date", "Wed, 05 Oct 2016 11:00:00 +0300"),
        ("Message-ID", "<20160901085600.D83D31E182BB@palvelukumppani.example>")],
        "Asiakas haluaa tietää, voiko määräaikaisen sopimuksen irtisanoa ennen aikojaan."),
]


def later_export(path: Path) -> Path:
    """September's mailbox with October's mail appended, as the next month's export of the mailbox."""
    path.write_bytes(MBOX.read_bytes() + b"".join(NEW_MAIL))
    return path


def jsonl_rows(path: Path) -> list[dict]:
    """The rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def without_origin(row: dict) -> dict:
    """A row without what names where it was read (file and position): the rest must match a clean run's."""
    return {k: v for k, v in row.items() if k not in ("key", "source")}
