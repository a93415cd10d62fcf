"""Reports on labelled support requests: volumes, topics, send times, avoidable contacts, gaps, trends.

The thesis (Härkönen 2018) made this analysis once by hand for September 2016. Here it is
repeatable: :func:`build_report` turns the rows written by ``tukipyynto label`` into tables
(volumes over time by channel, topics per channel, email send times against the back
office's opening hours, avoidable contacts with Wilson intervals, guideline gaps with
example requests, guideline use and near-duplicates, rising topics), and
:func:`write_report` writes them as Markdown, a self-contained HTML page and CSV files,
with one PNG figure per section.

Every table is a list of plain dictionaries with stable English keys; titles, column
headers and category names are rendered in Finnish (default) or English.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import json
import math
import os
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from .errors import IngestError, ReportError, TukipyyntoError
from .records import CHANNELS, HELSINKI, Guideline, Taxonomy, parse_datetime
from .rules import AVOIDABLE_REASONS, GAP_REASONS, REASONS, UNCERTAIN, UNDECIDED_REASONS, avoidable_reason, parse_bool

__all__ = ["SEND_TIME_CATEGORIES", "TABLES", "Report", "ReportError", "build_report", "read_labelled",
           "send_time_category", "wilson_interval", "write_report"]

SEND_TIME_CATEGORIES = ("weekday_open", "weekday_other", "saturday", "sunday", "holiday")
GRANULARITIES = ("month", "week")
LANGS = ("fi", "en")
FORMATS = ("md", "html", "csv", "json")
Z95 = 1.959963984540054

# Table names in report order, grouped by section.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("volumes", ("volumes",)),
    ("topics", ("topics",)),
    ("send_times", ("send_times",)),
    ("avoidable", ("avoidable_overall", "avoidable_reasons", "avoidable_by_channel", "avoidable_by_topic",
                   "avoidable_by_month")),
    ("gaps", ("gaps", "gap_clusters")),
    ("guidelines", ("guideline_use", "guidelines_unused", "guideline_duplicates")),
    ("trends", ("trends",)),
    ("service", ("service_response_by_topic", "service_response_by_channel", "service_response_by_month",
                 "service_response_by_weekday", "service_quality", "service_heatmap", "service_email_in_hours",
                 "service_repeats")),
    ("review", ("review_avoidable", "review_topics", "review_accuracy", "review_confusion")),
    ("errors", ("errors",)),
)
TABLES = tuple(t for _, ts in SECTIONS for t in ts)

_TOKEN = r"(?u)\b[^\W\d_]{3,}\b"
_STOPWORDS = frozenset("""
aina alla asiakas asiakkaalla asiakkaalle asiakkaan asiakkaalta asiakkaat asiakkaita asiakkaille eli ellei emme
en enemmän ennen eivät ei eikä emme että heillä hei heidän heitä hän häneltä hänelle hänen hänet ihan ilman itse
jo joka jolla jolle jonka jos jossa josta jota jotka jotta kai kaikki kanssa kautta kertoo kiitos kiitti kuin
kuinka kuka kun kyllä kysyy lisäksi meidän meille mikä miksi mikäli minä minkä minulla minun mitä miten moi
moikka mukaan muuten mutta muun myös mä nyt näin niin nämä ole oli olisi olla olen olet oletko olisiko ollut
olleet olisin olit on onko ovat pitää pitäisi saa saako sekä sen sitten siinä siitä sille sillä sitä se sinä
sun suoraan tai taas tässä tästä tähän tämä tämän tätä te teille terv terveisin tms tuo tuon tää vai vaan vain
vielä voi voiko voisi voisiko voitko ystävällisin yms jne esim koska noin sama samaa jotain jokin joku kiitokset
the and for with you this that are was please thanks
kysyi kysyttiin kysyä ohjetta ohjeen ohje palv neuvottu kerrottu soitti soitto asiakaspalvelusta
asiakaspalvelu asnro heippa moro sopimustiimi tiimi kiitoksia selvitetään luvattu
hetu puhelin email iban asiakasnro sopimusnro kayttopaikka url pvm klo summa numero
""".split())

_TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Tukipyyntöraportti",
        "period": "Ajanjakso",
        "granularity": "Jaksotus",
        "month": "kuukausi",
        "week": "viikko",
        "n_rows": "Rivejä syötteessä",
        "n_analysed": "Analysoituja tukipyyntöjä",
        "n_errors": "Virheellisiä rivejä (ei analysoitu)",
        "n_undated": "Ilman lähetysaikaa",
        "n_outside_period": "Ajanjakson ulkopuolella (ei mukana)",
        "n_messages": "Viestejä",
        "channels": "Kanavat",
        "no_rows": "Ei rivejä.",
        "note_no_catalogue": "Ohjeluetteloa ei annettu: käyttämättömiä ja päällekkäisiä ohjeita ei voi arvioida.",
        "no_texts": "Pyyntöjen tekstejä ei ole mukana (label --with-text): ryhmittely ja esimerkit puuttuvat.",
        "sec_volumes": "Tukipyyntöjen määrä kanavittain",
        "sec_topics": "Aiheet kanavittain",
        "sec_send_times": "Sähköpostien lähetysajat",
        "sec_avoidable": "Vältettävissä olevat yhteydenotot",
        "sec_gaps": "Ohjeaukot: mitä kirjoittaa seuraavaksi",
        "sec_guidelines": "Ohjeiden käyttö",
        "sec_trends": "Nousevat aiheet",
        "sec_errors": "Virheelliset rivit",
        "note_volumes": "Puhelin- ja sähköpostipyyntöjen määrä jaksoittain (vrt. opinnäytetyön kuvio 4). "
                        "Jaksot ilman pyyntöjä näkyvät nollina.",
        "note_topics": "Pyyntöjen aiheet kanavittain, lukumäärät ja osuudet (vrt. kuviot 5 ja 6).",
        "note_send_times": "Sähköpostipyyntöjen lähetysajat Helsingin aikaa (vrt. taulukko 2). Arkipäivinä "
                           "aukioloaikana lähetetyt pyynnöt olisi voinut hoitaa puhelimitse. Arkipyhät "
                           "(Suomen yleiset vapaapäivät) lasketaan pyhäpäiviksi.",
        "note_avoidable": "Vältettävissä: pyyntö meni väärään paikkaan tai kattava ohje oli jo voimassa. "
                          "Arvio on mallin kalibroitujen todennäköisyyksien keskiarvo; 95 %:n väli ottaa "
                          "huomioon otantavaihtelun ja mallin kalibroinnin epävarmuuden (bootstrap), mutta ei "
                          "sitä, että malli voi erehtyä uudenlaisessa aineistossa toisin kuin koulutusaineistossa: "
                          "sen mittaa tarkistettu satunnaisotos. Osuus (päätetty) on mallin kyllä/ei-päätösten osuus.",
        "note_gaps": "Pyynnöt, joihin mikään voimassa ollut ohje ei vastannut (ei ohjetta tai ohje tuli "
                     "myöhemmin), aiheittain ja tekstin perusteella ryhmiteltyinä.",
        "note_guidelines": "Kuinka usein kukin ohje vastasi pyyntöön, mitä ohjeita ei käytetty lainkaan ja "
                           "mitkä ohjeet ovat lähes samoja (yhdistämis- tai poistoehdokkaat).",
        "note_trends": "Aiheet, joiden määrä nousi selvästi viimeisimmällä jaksolla edelliseen verrattuna "
                       "(suhde vähintään {ratio}, vähintään {min_increase} pyyntöä enemmän).",
        "note_errors": "Rivit, joiden luokittelu epäonnistui. Niitä ei ole analysoitu.",
        "tbl_volumes": "Määrät jaksoittain",
        "tbl_topics": "Aihejakauma",
        "tbl_send_times": "Lähetysajat",
        "tbl_avoidable_overall": "Kaikki pyynnöt",
        "tbl_avoidable_reasons": "Syyt",
        "tbl_avoidable_by_channel": "Kanavittain",
        "tbl_avoidable_by_topic": "Aiheittain",
        "tbl_avoidable_by_month": "Kuukausittain",
        "tbl_gaps": "Ohjeaukot aiheittain",
        "tbl_gap_clusters": "Ohjeaukkojen ryhmät",
        "tbl_guideline_use": "Ohjeiden osumat",
        "tbl_guidelines_unused": "Käyttämättömät ohjeet",
        "tbl_guideline_duplicates": "Lähes samat ohjeet",
        "tbl_trends": "Nousevat aiheet",
        "tbl_errors": "Virheet",
        "fig_volumes": "Tukipyynnöt jaksoittain",
        "fig_topics": "Aiheet kanavittain",
        "fig_send_times": "Sähköpostien lähetysajat",
        "fig_avoidable_by_topic": "Vältettävissä olevien osuus aiheittain (95 % väli)",
        "fig_avoidable_by_month": "Vältettävissä olevien osuus kuukausittain (95 % väli)",
        "fig_gaps": "Ohjeaukot aiheittain",
        "fig_guideline_use": "Useimmin osuneet ohjeet",
        "fig_trends": "Nousevat aiheet: edellinen ja viimeisin jakso",
        "axis_count": "Lukumäärä",
        "axis_share": "Osuus (%)",
        "email": "Sähköposti",
        "phone": "Puhelin",
        "unknown": "Tuntematon",
        UNCERTAIN: "Epävarma aihe",
        "weekday_open": "Arkipäivät klo {open}–{close}",
        "weekday_other": "Arkipäivät muuna aikana",
        "saturday": "Lauantait",
        "sunday": "Sunnuntait",
        "holiday": "Arkipyhät",
        "unknown_time": "Lähetysaika tuntematon",
        "total": "Yhteensä",
        "misrouted": "Väärä vastaanottaja",
        "guideline_existed": "Ohje oli olemassa",
        "back_office_remit": "Taustatoimiston tehtävä",
        "guideline_came_later": "Ohje tuli myöhemmin",
        "no_guideline": "Ei ohjetta",
        "uncertain_topic": "Aihe epävarma",
        "no_catalogue": "Ei ohjeluetteloa",
        "yes": "kyllä",
        "no": "ei",
        "col_period": "Jakso",
        "col_start": "Alkaa",
        "col_end": "Päättyy",
        "col_total": "Yhteensä",
        "col_topic": "Aihetunnus",
        "col_label": "Aihe",
        "col_channel": "Kanava",
        "col_group": "Pyynnöt",
        "col_send_time": "Lähetysaika",
        "col_category": "Luokka",
        "col_reason": "Syy",
        "col_n": "Lkm",
        "col_share": "Osuus",
        "col_estimate": "Arvio",
        "col_total_n": "Yhteensä",
        "col_total_share": "Osuus",
        "col_n_avoidable": "Vältettävissä",
        "col_ci": "95 % väli",
        "col_avoidable": "Vältettävissä?",
        "col_topic_n": "Aiheen pyynnöt",
        "col_gap_share": "Osuus aiheesta",
        "col_n_no_guideline": "Ei ohjetta",
        "col_n_came_later": "Ohje tuli myöhemmin",
        "col_later_guidelines": "Myöhemmät ohjeet",
        "col_cluster": "Ryhmä",
        "col_top_terms": "Avainsanat",
        "col_examples": "Esimerkkejä",
        "col_guideline_id": "Ohje",
        "col_title": "Otsikko",
        "col_family": "Ohjeperhe",
        "col_topics": "Aiheet",
        "col_published": "Julkaistu",
        "col_retired": "Poistettu",
        "col_guideline_a": "Ohje A",
        "col_title_a": "Otsikko A",
        "col_guideline_b": "Ohje B",
        "col_title_b": "Otsikko B",
        "col_similarity": "Samankaltaisuus",
        "col_shared_topics": "Yhteiset aiheet",
        "col_n_a": "Osumat A",
        "col_n_b": "Osumat B",
        "col_previous_period": "Edellinen jakso",
        "col_previous_n": "Edellinen",
        "col_last_period": "Viimeisin jakso",
        "col_last_n": "Viimeisin",
        "col_change": "Muutos",
        "col_ratio": "Suhde",
        "col_id": "Tunnus",
        "col_source": "Lähde",
        "col_error": "Virhe",
        "col_sent_at": "Lähetetty",
        "new": "uusi",
    },
    "en": {
        "title": "Support request report",
        "period": "Period",
        "granularity": "Granularity",
        "month": "month",
        "week": "week",
        "n_rows": "Rows in the input",
        "n_analysed": "Support requests analysed",
        "n_errors": "Rows with errors (not analysed)",
        "n_undated": "Without a send time",
        "n_outside_period": "Outside the period (left out)",
        "n_messages": "Messages",
        "channels": "Channels",
        "no_rows": "No rows.",
        "note_no_catalogue": "No guideline catalogue given: unused and overlapping guidelines cannot be assessed.",
        "no_texts": "Request texts are not included (label --with-text): no clusters or examples.",
        "sec_volumes": "Support requests by channel over time",
        "sec_topics": "Topics by channel",
        "sec_send_times": "Email send times",
        "sec_avoidable": "Avoidable contacts",
        "sec_gaps": "Guideline gaps: what to write next",
        "sec_guidelines": "Guideline use",
        "sec_trends": "Rising topics",
        "sec_errors": "Rows with errors",
        "note_volumes": "Phone and email requests per period (cf. figure 4 of the thesis). "
                        "Periods without requests show as zeros.",
        "note_topics": "Request topics per channel, counts and shares (cf. figures 5 and 6).",
        "note_send_times": "Send times of email requests, Helsinki time (cf. table 2). Requests sent on "
                           "weekdays within opening hours could have been phone calls. Finnish public "
                           "holidays on weekdays count as holidays.",
        "note_avoidable": "Avoidable: the request went to the wrong place or a covering guideline was "
                          "already in force. The estimate is the mean of the model's calibrated probabilities; "
                          "its 95 % interval covers sampling noise and the uncertainty of the model's "
                          "calibration (a bootstrap over requests and held-out calibration data), not a change "
                          "in how the model errs on data unlike its training data: a reviewed random sample "
                          "measures that. Share (decided) is the share of the model's yes/no decisions.",
        "note_gaps": "Requests that no guideline in force answered (no guideline, or the guideline came "
                     "later), by topic and clustered by their text.",
        "note_guidelines": "How often each guideline answered a request, which guidelines were never used, "
                           "and which are near-duplicates (candidates to merge or retire).",
        "note_trends": "Topics whose volume rose markedly in the last period against the one before "
                       "(ratio at least {ratio}, at least {min_increase} more requests).",
        "note_errors": "Rows whose labelling failed. They are not analysed.",
        "tbl_volumes": "Counts per period",
        "tbl_topics": "Topic distribution",
        "tbl_send_times": "Send times",
        "tbl_avoidable_overall": "All requests",
        "tbl_avoidable_reasons": "Reasons",
        "tbl_avoidable_by_channel": "By channel",
        "tbl_avoidable_by_topic": "By topic",
        "tbl_avoidable_by_month": "By month",
        "tbl_gaps": "Guideline gaps by topic",
        "tbl_gap_clusters": "Clusters of guideline gaps",
        "tbl_guideline_use": "Guideline matches",
        "tbl_guidelines_unused": "Guidelines never matched",
        "tbl_guideline_duplicates": "Near-duplicate guidelines",
        "tbl_trends": "Rising topics",
        "tbl_errors": "Errors",
        "fig_volumes": "Support requests per period",
        "fig_topics": "Topics by channel",
        "fig_send_times": "Email send times",
        "fig_avoidable_by_topic": "Share avoidable by topic (95 % interval)",
        "fig_avoidable_by_month": "Share avoidable by month (95 % interval)",
        "fig_gaps": "Guideline gaps by topic",
        "fig_guideline_use": "Most matched guidelines",
        "fig_trends": "Rising topics: previous and last period",
        "axis_count": "Count",
        "axis_share": "Share (%)",
        "email": "Email",
        "phone": "Phone",
        "unknown": "Unknown",
        UNCERTAIN: "Uncertain topic",
        "weekday_open": "Weekdays {open}–{close}",
        "weekday_other": "Weekdays, other times",
        "saturday": "Saturdays",
        "sunday": "Sundays",
        "holiday": "Public holidays",
        "unknown_time": "Send time unknown",
        "total": "Total",
        "misrouted": "Wrong recipient",
        "guideline_existed": "Guideline existed",
        "back_office_remit": "Back-office remit",
        "guideline_came_later": "Guideline came later",
        "no_guideline": "No guideline",
        "uncertain_topic": "Topic uncertain",
        "no_catalogue": "No catalogue",
        "yes": "yes",
        "no": "no",
        "col_period": "Period",
        "col_start": "Start",
        "col_end": "End",
        "col_total": "Total",
        "col_topic": "Topic id",
        "col_label": "Topic",
        "col_channel": "Channel",
        "col_group": "Requests",
        "col_send_time": "Send time",
        "col_category": "Category",
        "col_reason": "Reason",
        "col_n": "Count",
        "col_share": "Share",
        "col_estimate": "Estimate",
        "col_total_n": "Total",
        "col_total_share": "Share",
        "col_n_avoidable": "Avoidable",
        "col_ci": "95 % interval",
        "col_avoidable": "Avoidable?",
        "col_topic_n": "Requests in topic",
        "col_gap_share": "Share of topic",
        "col_n_no_guideline": "No guideline",
        "col_n_came_later": "Guideline came later",
        "col_later_guidelines": "Later guidelines",
        "col_cluster": "Cluster",
        "col_top_terms": "Top terms",
        "col_examples": "Examples",
        "col_guideline_id": "Guideline",
        "col_title": "Title",
        "col_family": "Family",
        "col_topics": "Topics",
        "col_published": "Published",
        "col_retired": "Retired",
        "col_guideline_a": "Guideline A",
        "col_title_a": "Title A",
        "col_guideline_b": "Guideline B",
        "col_title_b": "Title B",
        "col_similarity": "Similarity",
        "col_shared_topics": "Shared topics",
        "col_n_a": "Matches A",
        "col_n_b": "Matches B",
        "col_previous_period": "Previous period",
        "col_previous_n": "Previous",
        "col_last_period": "Last period",
        "col_last_n": "Last",
        "col_change": "Change",
        "col_ratio": "Ratio",
        "col_id": "Id",
        "col_source": "Source",
        "col_error": "Error",
        "col_sent_at": "Sent",
        "new": "new",
    },
}



# Section 8, service (issue 11): kept in one block so that it merges easily.
_TEXT["fi"].update({
    "sec_service": "Palvelun sujuvuus",
    "note_service": "Kuinka nopeasti taustatoimisto vastaa: ensimmäinen vastaus sähköpostiketjussa "
                    "(viesti osoitteesta, johon pyyntö lähetettiin, tai --back-office-osoitteista), aika "
                    "laskettuna vain aukioloaikana ({open}–{close} arkisin, Helsingin aikaa, arkipyhät pois). "
                    "Mediaani ja 90. persentiili työminuutteina; vastattu työpäivässä = vastaus enintään yhden "
                    "työpäivän ({day} min) kuluttua, osuutena vastatuista ja vastaamattomista. Agenttien omat "
                    "jatkoviestit eivät ole vastauksia. Toistuva yhteydenotto: sama asiakas- tai sopimusnumero "
                    "uudelleen --repeat-days-ajan (oletus 14 päivää) sisällä (tunnisteet yhdistetään avainnetulla tiivisteellä, "
                    "niitä ei tallenneta).",
    "note_service_hint": "{n} ketjussa on myöhempiä viestejä mutta ei yhtään taustatoimiston vastausta: jos "
                         "taustatoimisto vastaa henkilökohtaisista osoitteista, anna ne tai verkkotunnus "
                         "(--back-office @verkkotunnus).",
    "tbl_service_response_by_topic": "Vastausajat aiheittain",
    "tbl_service_response_by_channel": "Vastausajat kanavittain",
    "tbl_service_response_by_month": "Vastausajat kuukausittain",
    "tbl_service_response_by_weekday": "Vastausajat viikonpäivittäin",
    "tbl_service_quality": "Vastaamattomat ja puutteelliset ketjut",
    "tbl_service_heatmap": "Saapuvat pyynnöt viikonpäivän ja tunnin mukaan (miehitys)",
    "tbl_service_email_in_hours": "Aukioloaikana lähetetyt sähköpostit aiheittain (olisi voinut soittaa)",
    "tbl_service_repeats": "Toistuvat yhteydenotot aiheittain",
    "fig_service_response_by_topic": "Vastausaika aiheittain (työminuutteja, mediaani ja 90. persentiili)",
    "fig_service_heatmap": "Saapuvat pyynnöt viikonpäivän ja tunnin mukaan",
    "axis_minutes": "Työminuutteja",
    "axis_hour": "Tunti",
    "median": "Mediaani",
    "p90": "90. persentiili",
    "svc_threads": "Sähköpostiketjuja",
    "svc_answered": "Vastattu",
    "svc_answered_timed": "Vastattu, aika tiedossa",
    "svc_unanswered": "Vastaamatta",
    "svc_later_messages_not_back_office": "Vastaamatta, mutta ketjussa muita viestejä",
    "svc_reply_before_request": "Vastaus päivätty ennen pyyntöä",
    "svc_first_from_back_office": "Ketjun aloitti taustatoimisto",
    "svc_request_no_date": "Pyynnöltä puuttuu päiväys",
    "svc_reply_no_date": "Vastaukselta puuttuu päiväys",
    "col_n_answered": "Vastattu",
    "col_answered_share": "Vastattu %",
    "col_median_minutes": "Mediaani (min)",
    "col_p90_minutes": "90. pers. (min)",
    "col_within_day_share": "Työpäivässä %",
    "col_weekday": "Viikonpäivä",
    "col_channel_weekday": "Kanava ja päivä",
    "col_n_in_hours": "Aukioloaikana",
    "col_in_hours_share": "Osuus aukioloaikana",
    "col_n_repeat": "Toistuvia",
    "col_repeat_share": "Osuus toistuvia",
})
_TEXT["en"].update({
    "sec_service": "Service",
    "note_service": "How fast the back office answers: the first reply in an email thread (a message from the "
                    "address the request was sent to, or from the --back-office addresses), timed only within "
                    "opening hours ({open}–{close} on weekdays, Helsinki time, public holidays off). Median and "
                    "90th percentile in working minutes; answered within a working day = answered at most one "
                    "working day ({day} min) later, as a share of answered and unanswered threads. Agents' own "
                    "follow-ups are not replies. Repeat contact: the same customer or contract number again "
                    "within --repeat-days (default 14 days) (linked by a keyed hash; the numbers are not stored).",
    "note_service_hint": "{n} threads have later messages but no back-office reply: if the back office answers "
                         "from personal addresses, give them or their domain (--back-office @domain).",
    "tbl_service_response_by_topic": "Response times by topic",
    "tbl_service_response_by_channel": "Response times by channel",
    "tbl_service_response_by_month": "Response times by month",
    "tbl_service_response_by_weekday": "Response times by weekday",
    "tbl_service_quality": "Unanswered and incomplete threads",
    "tbl_service_heatmap": "Incoming requests by weekday and hour (staffing)",
    "tbl_service_email_in_hours": "Emails sent during opening hours by topic (could have phoned)",
    "tbl_service_repeats": "Repeat contacts by topic",
    "fig_service_response_by_topic": "Response time by topic (working minutes, median and 90th percentile)",
    "fig_service_heatmap": "Incoming requests by weekday and hour",
    "axis_minutes": "Working minutes",
    "axis_hour": "Hour",
    "median": "Median",
    "p90": "90th percentile",
    "svc_threads": "Email threads",
    "svc_answered": "Answered",
    "svc_answered_timed": "Answered, time known",
    "svc_unanswered": "Unanswered",
    "svc_later_messages_not_back_office": "Unanswered, other messages in the thread",
    "svc_reply_before_request": "Reply dated before the request",
    "svc_first_from_back_office": "Thread started by the back office",
    "svc_request_no_date": "Request without a date",
    "svc_reply_no_date": "Reply without a date",
    "col_n_answered": "Answered",
    "col_answered_share": "Answered %",
    "col_median_minutes": "Median (min)",
    "col_p90_minutes": "90th pct. (min)",
    "col_within_day_share": "Within a working day %",
    "col_weekday": "Weekday",
    "col_channel_weekday": "Channel and day",
    "col_n_in_hours": "In opening hours",
    "col_in_hours_share": "Share in opening hours",
    "col_n_repeat": "Repeats",
    "col_repeat_share": "Share repeats",
})

# The reviewed-sample section (``report --reviewed``): corrected estimates by prediction-powered inference.
_TEXT["fi"].update({
    "sec_review": "Tarkistettu otos ja korjatut arviot",
    "note_review": ("Arviot yhdistävät satunnaisotoksen {n_reviewed} ihmisen tarkistamaa pyyntöä mallin ennusteisiin "
                    "kaikista {n_total} pyynnöstä (ennustevoimainen päättely, PPI; Angelopoulos ym., Science 2023). "
                    "95 %:n luottamusvälit ovat päteviä mallin tarkkuudesta riippumatta. Vain satunnaisotoksen "
                    "tarkistukset käytetään; epävarmimmat ensin -jonon {n_other} tarkistusta ovat uudelleenopetusta varten."),
    "tbl_review_avoidable": "Vältettävissä olevien osuus: malli ja korjattu arvio",
    "tbl_review_topics": "Aiheiden osuudet: malli ja korjattu arvio",
    "tbl_review_accuracy": "Mallin mitattu tarkkuus tarkistetussa satunnaisotoksessa",
    "tbl_review_confusion": "Sekaannukset: mallin aihe ja tarkistettu aihe",
    "col_method": "Menetelmä", "col_n_reviewed": "Tarkistettu", "col_estimate": "Arvio",
    "col_model_share": "Malli %", "col_model_hard_share": "Malli (kova) %", "col_reviewed_n": "Otoksessa",
    "col_reviews_estimate": "Pelkkä otos", "col_reviews_ci": "95 % väli, pelkkä otos", "col_group_kind": "Ryhmä", "col_measure": "Mittari",
    "col_correct": "Oikein", "col_predicted": "Malli", "col_reviewed": "Tarkistettu",
    "overall": "Kaikki", "month": "Kuukausi", "topic_group": "Aihe", "ppi_row": "Korjattu arvio (PPI)",
    "topic_accuracy": "Aiheen tarkkuus", "guideline_top1": "Ohje oikein (top-1)",
    "avoidable_accuracy": "Vältettävyys oikein",
})
_TEXT["en"].update({
    "sec_review": "Reviewed sample and corrected estimates",
    "note_review": ("The estimates combine {n_reviewed} requests of the random sample reviewed by a person with the "
                    "model's predictions on all {n_total} requests (prediction-powered inference, PPI; Angelopoulos et "
                    "al., Science 2023). The 95 % intervals are valid whatever the model's accuracy. Only the random "
                    "sample's reviews are used; the {n_other} reviews of the least-certain-first queue are for retraining."),
    "tbl_review_avoidable": "Avoidable share: model and corrected estimate",
    "tbl_review_topics": "Topic shares: model and corrected estimate",
    "tbl_review_accuracy": "The model's measured accuracy on the reviewed random sample",
    "tbl_review_confusion": "Confusions: model topic and reviewed topic",
    "col_method": "Method", "col_n_reviewed": "Reviewed", "col_estimate": "Estimate",
    "col_model_share": "Model %", "col_model_hard_share": "Model (hard) %", "col_reviewed_n": "In sample",
    "col_reviews_estimate": "Sample alone", "col_reviews_ci": "95 % interval, sample alone", "col_group_kind": "Group", "col_measure": "Measure",
    "col_correct": "Correct", "col_predicted": "Model", "col_reviewed": "Reviewed",
    "overall": "All", "month": "Month", "topic_group": "Topic", "ppi_row": "Corrected estimate (PPI)",
    "topic_accuracy": "Topic accuracy", "guideline_top1": "Guideline right (top-1)",
    "avoidable_accuracy": "Avoidable right",
})


@dataclass(frozen=True)
class Report:
    """Every table of a support-request report, plus what it covers.

    Each table is a list of dictionaries with stable English keys (the CSV headers);
    ``columns`` gives each table's key order. Shares are fractions (0..1), ``None`` where
    the denominator is zero. ``lang`` decides the language of titles, headers and
    category names when the report is written.
    """

    period_from: dt.date | None
    period_to: dt.date | None
    granularity: str
    lang: str
    opening_hours: tuple[dt.time, dt.time]
    channels: tuple[str, ...]
    n_rows: int
    n_errors: int
    n_analysed: int
    n_undated: int
    n_outside_period: int
    n_messages: int
    n_with_text: int
    n_by_channel: dict[str, int]
    catalogue_given: bool
    volumes: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    send_times: list[dict[str, Any]]
    avoidable_overall: list[dict[str, Any]]
    avoidable_reasons: list[dict[str, Any]]
    avoidable_by_channel: list[dict[str, Any]]
    avoidable_by_topic: list[dict[str, Any]]
    avoidable_by_month: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    gap_clusters: list[dict[str, Any]]
    guideline_use: list[dict[str, Any]]
    guidelines_unused: list[dict[str, Any]]
    guideline_duplicates: list[dict[str, Any]]
    trends: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    service_response_by_topic: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_channel: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_month: list[dict[str, Any]] = field(default_factory=list)
    service_response_by_weekday: list[dict[str, Any]] = field(default_factory=list)
    service_quality: list[dict[str, Any]] = field(default_factory=list)
    service_heatmap: list[dict[str, Any]] = field(default_factory=list)
    service_email_in_hours: list[dict[str, Any]] = field(default_factory=list)
    service_repeats: list[dict[str, Any]] = field(default_factory=list)
    review_avoidable: list[dict[str, Any]] = field(default_factory=list)
    review_topics: list[dict[str, Any]] = field(default_factory=list)
    review_accuracy: list[dict[str, Any]] = field(default_factory=list)
    review_confusion: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] = field(default_factory=dict)

    TABLES: ClassVar[tuple[str, ...]] = TABLES

    def table(self, name: str) -> list[dict[str, Any]]:
        """Rows of the table ``name`` (one of ``TABLES``)."""
        if name not in TABLES:
            raise ReportError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
        return getattr(self, name)

    def text(self, key: str) -> str:
        """A title, header or category name in the report's language."""
        return _TEXT[self.lang].get(key, key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the metadata and every table."""
        meta = {
            "period_from": _iso(self.period_from), "period_to": _iso(self.period_to),
            "granularity": self.granularity, "lang": self.lang,
            "opening_hours": [self.opening_hours[0].strftime("%H:%M"), self.opening_hours[1].strftime("%H:%M")],
            "channels": list(self.channels), "n_rows": self.n_rows, "n_errors": self.n_errors,
            "n_analysed": self.n_analysed, "n_undated": self.n_undated, "n_outside_period": self.n_outside_period,
            "n_messages": self.n_messages, "n_with_text": self.n_with_text, "n_by_channel": dict(self.n_by_channel),
            "catalogue_given": self.catalogue_given, "settings": dict(self.settings),
        }
        return {"meta": meta, "tables": {t: [{k: _jsonable(r.get(k)) for k in self.columns[t]} for r in self.table(t)]
                                         for t in TABLES}}


# ---------------------------------------------------------------------------------------------
# Small helpers


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    k : int
        Successes (for example avoidable contacts).
    n : int
        Trials (contacts looked at).
    z : float
        Normal quantile; the default gives a 95 % interval.

    Returns
    -------
    tuple of float
        ``(low, high)``, or ``(None, None)`` when ``n`` is 0. ``wilson_interval(3, 40)`` is
        about ``(0.026, 0.199)``: the thesis's 7.5 % from 40 sampled calls is a rough number.
    """
    if n <= 0:
        return None, None
    if k < 0 or k > n:
        raise ReportError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def send_time_category(ts: dt.datetime, opening_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(16, 0)),
                       holidays_: Any = None) -> str:
    """Classify a send time as in the thesis's table 2.

    Parameters
    ----------
    ts : datetime
        The send time; a naive value is taken as Helsinki time.
    opening_hours : (time, time)
        Weekday opening hours, start inclusive and end exclusive (16:00 itself is outside).
    holidays_ : mapping of date, optional
        Public holidays; Finnish ones (``holidays`` package, ``"FI"``) when omitted.

    Returns
    -------
    str
        One of ``SEND_TIME_CATEGORIES``. Saturdays and Sundays win over holidays (a holiday
        on a Saturday is a Saturday); a holiday on a weekday is ``holiday``.
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=HELSINKI)
    local = ts.astimezone(HELSINKI)
    wd = local.weekday()
    if wd == 5:
        return "saturday"
    if wd == 6:
        return "sunday"
    if holidays_ is None:
        holidays_ = _finnish_holidays([local.year])
    if local.date() in holidays_:
        return "holiday"
    t = local.time().replace(tzinfo=None)
    return "weekday_open" if opening_hours[0] <= t < opening_hours[1] else "weekday_other"


def _finnish_holidays(years: Iterable[int]):
    """Finnish public holidays of the given years."""
    import holidays

    return holidays.country_holidays("FI", years=sorted(set(years)) or None)


def _iso(d: dt.date | None) -> str | None:
    """ISO string of a date, or None."""
    return d.isoformat() if d else None


def _jsonable(v: Any) -> Any:
    """A JSON-ready value."""
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, tuple):
        return list(v)
    return v


def _to_bool(v: Any) -> bool | None:
    """Read an optional boolean from JSON, CSV text or Parquet."""
    return parse_bool(v)


def _maybe_json(v: Any) -> Any:
    """Decode a JSON list/object written into a CSV or Parquet string cell."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def _clean_str(v: Any) -> str | None:
    """A non-empty string or None."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    s = str(v).strip()
    return s or None


_FREE_TEXT_FIELDS = ("id", "source", "channel", "subject", "error", "text")


def _redact(text: str) -> str:
    """Redact with the library's default redactor."""
    from .redact import redact

    return redact(text)


def _normalise_row(row: dict[str, Any]) -> dict[str, Any]:
    """One labelled row with ``predicted`` as a dict (or None), whatever file format it came from.

    Raises ``ValueError`` when ``predicted`` is an unreadable JSON string or a boolean is garbled.
    """
    r = {k: v for k, v in row.items() if not str(k).startswith("predicted.")}
    for k in _FREE_TEXT_FIELDS:  # rows not written by `label` may hold personal data: never report it
        if isinstance(r.get(k), str):
            r[k] = _redact(r[k])
    pred = row.get("predicted")
    if isinstance(pred, str):
        s = pred.strip()
        if s in ("", "null", "None"):
            pred = None
        else:
            try:
                pred = json.loads(s)
            except json.JSONDecodeError as e:
                raise ValueError(f"'predicted' is not valid JSON ({e.msg})") from None
    if pred is not None and not isinstance(pred, dict):
        raise ValueError(f"'predicted' should be an object, found {type(pred).__name__}")
    flat = {str(k)[len("predicted."):]: v for k, v in row.items() if str(k).startswith("predicted.")}
    if any(v not in (None, "") for v in flat.values()):
        pred = dict(pred or {})
        for k, v in flat.items():
            if pred.get(k) is None:
                pred[k] = v
    if pred is None and _clean_str(row.get("predicted_topic")):  # the datasets labeller's columns
        pred = {"topic": row.get("predicted_topic"), "confidence": row.get("confidence"),
                "guideline_id": row.get("predicted_guideline_id"), "guideline_score": row.get("guideline_score"),
                "avoidable": row.get("predicted_avoidable"), "reason": row.get("reason")}
    if pred is not None:
        pred = dict(pred)
        for k in ("candidates", "flags"):
            pred[k] = _maybe_json(pred.get(k))
        for k in ("topic", "guideline_id", "reason", "later_guideline_id"):
            pred[k] = _clean_str(pred.get(k))
        try:
            pred["avoidable"] = _to_bool(pred.get("avoidable"))
        except ValueError as e:
            raise ValueError(f"predicted.avoidable: {e}") from None
        if not any(pred.get(k) is not None for k in ("topic", "reason", "avoidable")):
            pred = None
    r["predicted"] = pred
    status = _clean_str(row.get("status"))
    r["status"] = status.lower() if status else "ok"
    r["channel"] = (_clean_str(row.get("channel")) or "unknown").lower()
    return r


# ---------------------------------------------------------------------------------------------
# Reading


def read_labelled(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read labelled rows written by ``tukipyynto label`` (JSONL, CSV or Parquet).

    Parameters
    ----------
    paths : path or list of paths
        Files, globs or directories (searched recursively).

    Returns
    -------
    list of dict
        One row per contact, with ``predicted`` as a dictionary (or ``None`` for error
        rows) whether the file had it nested, as a JSON string or flattened into
        ``predicted.*`` columns; ``status`` defaults to ``"ok"``.

    Raises
    ------
    IngestError
        A file is missing, of an unknown type, or has an unreadable row (named by file and line).
    """
    from .errors import CorpusError
    from .io import expand_paths, iter_rows

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    try:
        files = expand_paths(paths)
    except CorpusError as e:
        raise IngestError(str(e)) from None
    if not files:
        raise IngestError(f"{', '.join(map(str, paths))}: no JSONL, CSV or Parquet file found")
    out: list[dict[str, Any]] = []
    for path in files:
        try:
            for no, row in iter_rows(path):
                try:
                    out.append(_normalise_row(row))
                except ValueError as e:
                    raise IngestError(f"{path}:{no}: {e}") from None
        except CorpusError as e:
            raise IngestError(str(e)) from None
    return out


# ---------------------------------------------------------------------------------------------
# Building


@dataclass(frozen=True)
class _Row:
    """One analysed contact, reduced to what the report needs."""

    id: str
    channel: str
    local: dt.datetime | None
    topic: str
    guideline_id: str | None
    avoidable: bool | None
    reason: str | None
    later_guideline_id: str | None
    text: str | None
    n_messages: int
    avoidable_probability: float | None = None
    thread: bool = False  # a mail thread with service fields (first reply looked for)
    first_reply: bool = False
    reply_minutes: float | None = None
    service_flags: tuple[str, ...] = ()
    repeat_of: str | None = None


def _derive_reason(topic: str, avoidable: bool | None, guideline_id: str | None, taxonomy: Taxonomy) -> str | None:
    """Reason code for rows that carry labels but no reason (gold-labelled files)."""
    if topic == UNCERTAIN:
        return "uncertain_topic"
    cat = taxonomy[topic] if topic in taxonomy else None
    if avoidable is None and not (cat is not None and (cat.misrouted or cat.back_office_remit)):
        return None
    return avoidable_reason(cat, avoidable, bool(guideline_id))[1]


def _month_key(d: dt.date) -> tuple[int, int]:
    """Month bucket of a date."""
    return d.year, d.month


def _week_key(d: dt.date) -> tuple[int, int]:
    """ISO-week bucket of a date."""
    iso = d.isocalendar()
    return iso[0], iso[1]


def _bucket_key(d: dt.date, granularity: str) -> tuple[int, int]:
    """Bucket of a date at the given granularity."""
    return _month_key(d) if granularity == "month" else _week_key(d)


def _bucket_name(key: tuple[int, int], granularity: str) -> str:
    """Printable name of a bucket: ``2016-09`` or ``2016-W37``."""
    return f"{key[0]:04d}-{key[1]:02d}" if granularity == "month" else f"{key[0]:04d}-W{key[1]:02d}"


def _bucket_span(key: tuple[int, int], granularity: str) -> tuple[dt.date, dt.date]:
    """First and last day of a bucket."""
    if granularity == "month":
        start = dt.date(key[0], key[1], 1)
        nxt = dt.date(key[0] + (key[1] == 12), key[1] % 12 + 1, 1)
        return start, nxt - dt.timedelta(days=1)
    start = dt.date.fromisocalendar(key[0], key[1], 1)
    return start, start + dt.timedelta(days=6)


def _buckets(start: dt.date, end: dt.date, granularity: str) -> list[tuple[int, int]]:
    """Every bucket from the one holding ``start`` to the one holding ``end``, empty ones included."""
    out = []
    key = _bucket_key(start, granularity)
    last = _bucket_key(end, granularity)
    while key <= last:
        out.append(key)
        nxt = _bucket_span(key, granularity)[1] + dt.timedelta(days=1)
        key = _bucket_key(nxt, granularity)
    return out


def _share(k: float, n: float) -> float | None:
    """k / n, or None when n is 0."""
    return k / n if n else None


def _topic_order(topics: Iterable[str], taxonomy: Taxonomy) -> list[str]:
    """Taxonomy order first, then other topics seen (sorted), ``uncertain`` last."""
    seen = set(topics)
    out = [t for t in taxonomy.ids if t in seen]
    out += sorted(t for t in seen if t not in taxonomy and t != UNCERTAIN)
    if UNCERTAIN in seen and UNCERTAIN not in out:
        out.append(UNCERTAIN)
    return out


def _topic_label(topic: str, taxonomy: Taxonomy, lang: str) -> str:
    """Human topic name; the localised word for ``uncertain``."""
    if topic not in taxonomy and topic in _TEXT[lang]:
        return _TEXT[lang][topic]
    return taxonomy.label(topic, lang)


def _truncate(text: str, limit: int) -> str:
    """Collapse whitespace and cut to about ``limit`` characters at a word boundary."""
    s = " ".join(str(text).split())
    if len(s) <= limit:
        return s
    cut = s[:limit]
    sp = cut.rfind(" ")
    if sp > limit * 0.6:
        cut = cut[:sp]
    return cut.rstrip(" ,.;:") + "…"


def _avoidable_row(rows: Sequence[_Row], extra: dict[str, Any], est: Any = None) -> dict[str, Any]:
    """Counts, decided share, the estimated share with its interval, and reason breakdown of a group of rows.

    ``est`` is the group's :class:`~classifier.bootstrap.ShareEstimate` from the calibrated
    probabilities; rows without probabilities (labelled files) get the labels' share with a
    Wilson interval, and ``method`` says which.
    """
    known = [r for r in rows if r.avoidable is not None]
    n = len(known)
    k = sum(1 for r in known if r.avoidable)
    out = dict(extra)
    if est is not None and est.estimate is not None:
        e, lo, hi, method = est.estimate, est.ci_low, est.ci_high, est.method
    else:
        lo, hi = wilson_interval(k, n)
        e, method = _share(k, n), "wilson_labels"
    out.update({"n": n, "n_avoidable": k, "share": _share(k, n), "estimate": e, "ci_low": lo, "ci_high": hi,
                "method": method if n else None})
    reasons = Counter(r.reason for r in known)
    for code in REASONS:
        out[f"reason_{code}"] = reasons.get(code, 0)
    return out


def _vectorizer(n_docs: int):
    """TF-IDF over words (letters only, three or more), Finnish and placeholder stop words removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(lowercase=True, token_pattern=_TOKEN, stop_words=sorted(_STOPWORDS),
                           sublinear_tf=True, max_df=1.0 if n_docs < 10 else 0.9)


def _cluster_texts(texts: Sequence[str], max_clusters: int, random_state: int, n_examples: int,
                   example_chars: int, n_terms: int = 5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Summarise texts (top terms, examples near the centroid) and cluster them with KMeans."""
    import numpy as np

    summary: dict[str, Any] = {"top_terms": [], "examples": []}
    if not texts:
        return summary, []
    try:
        vec = _vectorizer(len(texts))
        X = vec.fit_transform(texts)
    except ValueError:  # nothing but stop words
        summary["examples"] = _pick_examples(texts, list(range(len(texts))), None, n_examples, example_chars)
        return summary, []
    terms = np.asarray(vec.get_feature_names_out())

    background = np.asarray(X.mean(axis=0)).ravel()

    def describe(idx: list[int], contrast: bool = False) -> dict[str, Any]:
        sub = X[idx]
        centroid = np.asarray(sub.mean(axis=0)).ravel()
        # a cluster is named by what sets it apart from the topic's other gaps, not by the
        # words every request of the topic uses ("sopimus", "haluaa")
        key = centroid - background if contrast else centroid
        order = np.lexsort((terms, -key))
        top = [str(terms[j]) for j in order[:n_terms] if key[j] > 0]
        sims = np.asarray(sub @ centroid).ravel()
        return {"top_terms": top,
                "examples": _pick_examples(texts, idx, sims, n_examples, example_chars)}

    everything = list(range(len(texts)))
    summary = describe(everything)
    distinct = len({X[i].toarray().tobytes() for i in everything}) if len(texts) <= 5000 else len(texts)
    k = min(max_clusters, len(texts) // 3, distinct)
    if k < 2:
        return summary, [dict(describe(everything), size=len(texts), indices=everything)]
    from sklearn.cluster import KMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(X)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        groups[int(lab)].append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    return summary, [dict(describe(g, contrast=True), size=len(g), indices=g) for g in ordered]


def _pick_examples(texts: Sequence[str], idx: list[int], sims: Any, n: int, limit: int) -> list[str]:
    """Up to ``n`` distinct truncated texts, those nearest the centroid first."""
    order = list(range(len(idx)))
    if sims is not None:
        order.sort(key=lambda j: (-float(sims[j]), idx[j]))
    out: list[str] = []
    for j in order:
        t = _truncate(texts[idx[j]], limit)
        if t and t not in out:
            out.append(t)
        if len(out) >= n:
            break
    return out


def _duplicate_pairs(guidelines: Sequence[Guideline], threshold: float) -> list[tuple[int, int, float]]:
    """Index pairs of guidelines whose TF-IDF cosine (title + body) reaches ``threshold``."""
    import numpy as np

    if len(guidelines) < 2:
        return []
    docs = [f"{g.title}\n{g.body}" for g in guidelines]
    try:
        X = _vectorizer(len(docs)).fit_transform(docs)
    except ValueError:
        return []
    sim = np.asarray((X @ X.T).todense())
    out = []
    n = len(guidelines)
    for i in range(n):
        for j in range(i + 1, n):
            if sim[i, j] >= threshold - 1e-12:
                out.append((i, j, float(sim[i, j])))
    out.sort(key=lambda p: (-p[2], p[0], p[1]))
    return out


def build_report(
    rows: Iterable[dict[str, Any]],
    taxonomy: Taxonomy | None,
    guidelines: list[Guideline] | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    granularity: str = "month",
    opening_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(16, 0)),
    lang: str = "fi",
    *,
    duplicate_threshold: float = 0.5,
    trend_ratio: float = 1.5,
    trend_min_increase: int = 5,
    max_clusters: int = 4,
    n_examples: int = 3,
    example_chars: int = 200,
    random_state: int = 0,
    calibration: dict | None = None,
    reviewed: Mapping[str, Mapping[str, Any]] | None = None,
) -> Report:
    """Build every table of the report from labelled rows.

    Parameters
    ----------
    rows : iterable of dict
        Labelled rows as written by ``tukipyynto label`` (see :func:`read_labelled`);
        ``predicted`` may be nested, a JSON string or flattened into ``predicted.*`` keys.
        A row without ``predicted`` but with labels (``topic``, ``guideline_id``,
        ``avoidable``) is reported on its labels. Rows with ``status`` ``"error"`` are
        counted and listed, not analysed.
    taxonomy : Taxonomy
        Topic names and the remit / misrouted flags; ``None`` builds one from the topics seen.
    guidelines : list of Guideline, optional
        The catalogue, needed for the never-used and near-duplicate tables.
    period_from, period_to : date, optional
        Inclusive bounds on the request's Helsinki calendar date. When either is given,
        rows without a send time are left out (and counted); by default the period runs
        from the first to the last dated request.
    granularity : {"month", "week"}
        Buckets of the volume table and of the trend comparison (ISO weeks).
    opening_hours : (time, time)
        The back office's weekday phone hours, start inclusive, end exclusive.
    lang : {"fi", "en"}
        Language of the written report.
    duplicate_threshold : float
        TF-IDF cosine (title + body) from which two guidelines are near-duplicates.
    trend_ratio, trend_min_increase : float, int
        A topic is rising when its last-period count is at least ``trend_ratio`` times
        the previous period's and at least ``trend_min_increase`` higher (a topic absent
        the period before needs only the increase).
    max_clusters : int
        At most this many text clusters per gap topic (KMeans, fixed ``random_state``).
    n_examples, example_chars : int
        Example texts per gap topic and cluster, and their length.
    calibration : dict, optional
        The model's held-out ``(p, y)`` calibration pairs (``matcher.avoidable_calibration``
        in ``model.json``): the avoidable estimates' intervals resample them as well as the
        requests. Without them only the requests are resampled.
    reviewed : mapping, optional
        Request id -> reviewed row (:func:`classifier.estimate.read_reviewed`). The random
        queue's reviews give corrected estimates (prediction-powered inference): a ``ppi``
        row in ``avoidable_overall`` and the ``review_*`` tables.

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        An argument is out of range (granularity, language, empty period, opening hours).
    """
    if granularity not in GRANULARITIES:
        raise ReportError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    if period_from and period_to and period_from > period_to:
        raise ReportError(f"period_from {period_from} is after period_to {period_to}")
    if len(opening_hours) != 2 or not opening_hours[0] < opening_hours[1]:
        raise ReportError(f"opening_hours must be (start, end) with start < end, got {opening_hours!r}")
    if not 0.0 < duplicate_threshold <= 1.0:
        raise ReportError(f"duplicate_threshold must be in (0, 1], got {duplicate_threshold}")
    if isinstance(period_from, dt.datetime):
        period_from = period_from.date()
    if isinstance(period_to, dt.datetime):
        period_to = period_to.date()

    raw = list(rows)
    n_rows = len(raw)
    errors: list[dict[str, Any]] = []
    candidates: list[tuple[dict[str, Any], dict[str, Any], dt.datetime | None]] = []
    for i, row in enumerate(raw):
        rid = str(row.get("id") if row.get("id") is not None else f"#{i + 1}")
        try:
            r = _normalise_row(row)
        except ValueError as e:
            errors.append({"id": rid, "source": row.get("source"), "sent_at": row.get("sent_at"), "error": str(e)})
            continue
        try:
            ts = parse_datetime(r.get("sent_at"))
        except (ValueError, TypeError):
            ts = None
        local = ts.astimezone(HELSINKI) if ts else None
        pred = r["predicted"]
        if pred is None and r["status"] != "error" and _clean_str(r.get("topic")):
            pred = {"topic": _clean_str(r.get("topic")), "guideline_id": _clean_str(r.get("guideline_id")),
                    "avoidable": _to_bool_or_none(r.get("avoidable")), "reason": None, "later_guideline_id": None}
        if r["status"] == "error" or pred is None or pred.get("topic") is None:
            err = _clean_str(r.get("error")) or ("no prediction in the row" if r["status"] != "error" else "error")
            if local is not None and ((period_from and local.date() < period_from) or
                                      (period_to and local.date() > period_to)):
                continue
            errors.append({"id": rid, "source": r.get("source"), "sent_at": local.isoformat() if local else None,
                           "error": err})
            continue
        candidates.append((r, pred, local))

    if taxonomy is None:
        taxonomy = Taxonomy.from_labels(p["topic"] for _, p, _ in candidates if p["topic"] != UNCERTAIN)

    bounded = period_from is not None or period_to is not None
    dated = [loc.date() for _, _, loc in candidates if loc is not None]
    start = period_from or (min(dated) if dated else None)
    end = period_to or (max(dated) if dated else None)
    if start and end and start > end:  # one open bound beyond the data
        start, end = (start, start) if period_from else (end, end)

    items: list[_Row] = []
    n_undated = n_outside = 0
    for r, pred, local in candidates:
        if local is None:
            n_undated += 1
            if bounded:
                continue
        elif (start and local.date() < start) or (end and local.date() > end):
            n_outside += 1
            continue
        topic = pred["topic"]
        avoidable = pred.get("avoidable")
        reason = pred.get("reason")
        if reason is None:
            reason = _derive_reason(topic, avoidable, pred.get("guideline_id"), taxonomy)
        if avoidable is None and reason is not None and reason not in UNDECIDED_REASONS:
            avoidable = reason in AVOIDABLE_REASONS
        try:
            n_msg = int(r.get("n_messages") or 1)
        except (TypeError, ValueError):
            n_msg = 1
        text = r.get("text")
        items.append(_Row(id=str(r.get("id")), channel=r["channel"], local=local, topic=topic,
                          guideline_id=pred.get("guideline_id"), avoidable=avoidable, reason=reason,
                          later_guideline_id=pred.get("later_guideline_id"),
                          text=str(text) if _clean_str(text) else None, n_messages=n_msg,
                          avoidable_probability=_prob_or_none(pred.get("avoidable_probability")),
                          **_service_of(r)))

    chan_count = Counter(r.channel for r in items)
    channels = tuple([c for c in CHANNELS if c in chan_count] + sorted(c for c in chan_count if c not in CHANNELS))
    order = _topic_order([r.topic for r in items] + list(taxonomy.ids), taxonomy)
    ctx = _Context(items=items, taxonomy=taxonomy, lang=lang, channels=channels, order=order,
                   start=start, end=end, granularity=granularity, calibration=calibration)
    tables: dict[str, list[dict[str, Any]]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for part in (_volume_tables(ctx), _topic_tables(ctx), _send_time_tables(ctx, opening_hours),
                 _avoidable_tables(ctx),
                 _gap_tables(ctx, max_clusters, random_state, n_examples, example_chars),
                 _guideline_tables(ctx, guidelines, duplicate_threshold),
                 _trend_tables(ctx, trend_ratio, trend_min_increase),
                 _service_tables(ctx, opening_hours)):
        for name, (cols, rows_) in part.items():
            tables[name], columns[name] = rows_, cols
    tables["errors"], columns["errors"] = errors, ("id", "source", "sent_at", "error")
    tables.update(_review_tables(ctx, candidates, reviewed, tables, columns))

    return Report(
        period_from=start, period_to=end, granularity=granularity, lang=lang,
        opening_hours=(opening_hours[0], opening_hours[1]), channels=channels, n_rows=n_rows,
        n_errors=len(errors), n_analysed=len(items), n_undated=n_undated, n_outside_period=n_outside,
        n_messages=sum(r.n_messages for r in items), n_with_text=sum(1 for r in items if r.text),
        n_by_channel={c: chan_count[c] for c in channels}, catalogue_given=guidelines is not None,
        columns=columns,
        settings={"duplicate_threshold": duplicate_threshold, "trend_ratio": trend_ratio,
                  "trend_min_increase": trend_min_increase, "max_clusters": max_clusters,
                  "n_examples": n_examples, "example_chars": example_chars, "random_state": random_state},
        **tables,
    )


_Tables = dict[str, tuple[tuple[str, ...], list[dict[str, Any]]]]


@dataclass(frozen=True)
class _Context:
    """What every table of a report is computed from."""

    items: list[_Row]
    taxonomy: Taxonomy
    lang: str
    channels: tuple[str, ...]
    order: list[str]
    start: dt.date | None
    end: dt.date | None
    granularity: str
    calibration: dict | None = None

    @property
    def rank(self) -> dict[str, int]:
        """Position of each topic in the taxonomy order."""
        return {t: i for i, t in enumerate(self.order)}

    def label(self, topic: str) -> str:
        """Topic name in the report's language."""
        return _topic_label(topic, self.taxonomy, self.lang)

    def buckets(self, granularity: str | None = None) -> list[tuple[int, int]]:
        """Every bucket of the period, empty ones included."""
        g = granularity or self.granularity
        return _buckets(self.start, self.end, g) if self.start and self.end else []


def _volume_tables(ctx: _Context) -> _Tables:
    """Section 1: contacts per period and channel, empty periods as zeros."""
    counts: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for r in ctx.items:
        if r.local is not None:
            counts[_bucket_key(r.local.date(), ctx.granularity)][r.channel] += 1
    rows = []
    for key in ctx.buckets():
        s, e = _bucket_span(key, ctx.granularity)
        row: dict[str, Any] = {"period": _bucket_name(key, ctx.granularity), "start": s, "end": e}
        row.update({c: counts[key].get(c, 0) for c in ctx.channels})
        row["total"] = sum(counts[key].values())
        rows.append(row)
    return {"volumes": (("period", "start", "end", *ctx.channels, "total"), rows)}


def _topic_tables(ctx: _Context) -> _Tables:
    """Section 2: topic counts and shares per channel, largest first, ``uncertain`` last."""
    per = {c: Counter(r.topic for r in ctx.items if r.channel == c) for c in ctx.channels}
    n_chan = {c: sum(per[c].values()) for c in ctx.channels}
    total = Counter(r.topic for r in ctx.items)
    rows = []
    for t in ctx.order:
        row: dict[str, Any] = {"topic": t, "label": ctx.label(t)}
        for c in ctx.channels:
            row[f"{c}_n"] = per[c].get(t, 0)
            row[f"{c}_share"] = _share(per[c].get(t, 0), n_chan[c])
        row["total_n"] = total.get(t, 0)
        row["total_share"] = _share(total.get(t, 0), len(ctx.items))
        rows.append(row)
    rank = ctx.rank
    rows.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["total_n"], rank[x["topic"]]))
    cols = ("topic", "label", *[f"{c}_{k}" for c in ctx.channels for k in ("n", "share")], "total_n", "total_share")
    return {"topics": (cols, rows)}


def _send_time_tables(ctx: _Context, opening_hours: tuple[dt.time, dt.time]) -> _Tables:
    """Section 3: email send times against opening hours, weekends and Finnish public holidays."""
    text = _TEXT[ctx.lang]
    emails = [r for r in ctx.items if r.channel == "email"]
    years = {r.local.year for r in emails if r.local is not None}
    hol = _finnish_holidays(years) if years else {}
    count: Counter = Counter(send_time_category(r.local, opening_hours, hol) if r.local is not None
                             else "unknown_time" for r in emails)
    hours = {"open": _fmt_time(opening_hours[0], ctx.lang), "close": _fmt_time(opening_hours[1], ctx.lang)}
    cats = list(SEND_TIME_CATEGORIES) + (["unknown_time"] if count.get("unknown_time") else [])
    rows = []
    if emails:
        rows = [{"category": c, "label": text[c].format(**hours), "n": count.get(c, 0),
                 "share": _share(count.get(c, 0), len(emails))} for c in cats]
        rows.append({"category": "total", "label": text["total"], "n": len(emails), "share": 1.0})
    return {"send_times": (("category", "label", "n", "share"), rows)}


def _avoidable_tables(ctx: _Context) -> _Tables:
    """Section 4: avoidable shares with Wilson intervals, overall, by reason, channel, topic and month."""
    from .bootstrap import estimate_shares

    text = _TEXT[ctx.lang]
    items = ctx.items
    av_cols = ("n", "n_avoidable", "share", "estimate", "ci_low", "ci_high", "method",
               *[f"reason_{c}" for c in REASONS])
    # the estimate: mean calibrated probability over the rows that have one, when all decided rows do
    groups_p: dict[str, list[float]] = {"all": [r.avoidable_probability for r in items if r.avoidable is not None]}
    for c in ctx.channels:
        groups_p[f"channel:{c}"] = [r.avoidable_probability for r in items if r.channel == c and r.avoidable is not None]
    for r in items:
        if r.avoidable is not None:
            groups_p.setdefault(f"topic:{r.topic}", []).append(r.avoidable_probability)
            if r.local is not None:
                groups_p.setdefault(f"month:{_month_key(r.local.date())}", []).append(r.avoidable_probability)
    usable = {g: v for g, v in groups_p.items() if v and all(x is not None for x in v)}
    ests = estimate_shares(usable, ctx.calibration) if usable else {}
    overall = [_avoidable_row(items, {"label": text["total"]}, ests.get("all"))] if items else []
    known = [r for r in items if r.avoidable is not None]
    rc = Counter(r.reason for r in known)
    codes = list(REASONS) + sorted(c for c in rc if c not in REASONS and c is not None)
    reasons = [{"reason": c, "label": text.get(c, c), "avoidable": c in AVOIDABLE_REASONS, "n": rc.get(c, 0),
                "share": _share(rc.get(c, 0), len(known))} for c in codes] if known else []
    by_channel = [_avoidable_row([r for r in items if r.channel == c], {"channel": c, "label": text.get(c, c)},
                                 ests.get(f"channel:{c}")) for c in ctx.channels]
    groups: dict[Any, list[_Row]] = defaultdict(list)
    for r in items:
        groups[r.topic].append(r)
    rank = ctx.rank
    by_topic = [_avoidable_row(groups[t], {"topic": t, "label": ctx.label(t)}, ests.get(f"topic:{t}"))
                for t in ctx.order if groups.get(t)]
    by_topic.sort(key=lambda x: (-x["n_avoidable"], -x["n"], rank[x["topic"]]))
    months: dict[Any, list[_Row]] = defaultdict(list)
    for r in items:
        if r.local is not None:
            months[_month_key(r.local.date())].append(r)
    by_month = [_avoidable_row(months.get(m, []), {"period": _bucket_name(m, "month")}, ests.get(f"month:{m}"))
                for m in ctx.buckets("month")]
    for r in overall:  # the model-only row; a reviewed sample adds a ``ppi`` row (see _review_tables)
        r["n_reviewed"] = 0
    return {"avoidable_overall": (("label", *av_cols, "n_reviewed"), overall),
            "avoidable_reasons": (("reason", "label", "avoidable", "n", "share"), reasons),
            "avoidable_by_channel": (("channel", "label", *av_cols), by_channel),
            "avoidable_by_topic": (("topic", "label", *av_cols), by_topic),
            "avoidable_by_month": (("period", *av_cols), by_month)}


def _review_tables(ctx: _Context, candidates, reviewed, tables, columns) -> dict[str, Any]:
    """Section: corrected estimates from a reviewed random sample; adds the ``ppi`` row to ``avoidable_overall``."""
    from .estimate import review_estimates

    names = {"review_avoidable": ("group_kind", "label", "model_share", "estimate", "ci_low", "ci_high", "reviews_estimate",
                                  "reviews_ci_low", "reviews_ci_high", "method", "n_reviewed"),
             "review_topics": ("topic", "label", "model_share", "model_hard_share", "reviewed_n", "estimate", "ci_low",
                               "ci_high", "reviews_ci_low", "reviews_ci_high", "method", "n_reviewed"),
             "review_accuracy": ("measure", "label", "n", "correct", "share", "ci_low", "ci_high"),
             "review_confusion": ("predicted", "reviewed", "n", "correct")}
    columns.update(names)
    out: dict[str, Any] = {k: [] for k in names}
    if reviewed is None:
        return out
    text = _TEXT[ctx.lang]
    keep = {r.id for r in ctx.items}
    rows = [{"id": str(r.get("id")), "predicted": p} for r, p, _ in candidates if str(r.get("id")) in keep]
    months = {r.id: _bucket_name(_month_key(r.local.date()), "month") for r in ctx.items if r.local is not None}
    est = review_estimates(rows, reviewed, [t for t in ctx.order if t != UNCERTAIN], months, topic_label=ctx.label)
    for r in est["review_avoidable"]:
        g = r.pop("group")
        r["label"] = r["label"] or text["overall"]
        r["group_kind"] = text.get({"topic": "topic_group"}.get(g, g), g)
    for r in est["review_accuracy"]:
        r["label"] = text.get(r["measure"], r["measure"])
    out.update({k: est[k] for k in names})
    out["review"] = {"n_reviewed": est["n_reviewed"], "n_total": est["n_total"],
                     "n_other": est["n_reviewed_other_queue"], "n_unknown": est["n_reviewed_unknown"]}
    e = est["avoidable"]
    if e is not None and tables.get("avoidable_overall"):
        tables["avoidable_overall"].append({
            "label": text["ppi_row"], "n": est["n_total"], "n_avoidable": None, "share": e.estimate,
            "ci_low": e.ci_low, "ci_high": e.ci_high, "estimate": e.estimate, "method": "ppi",
            "n_reviewed": e.n_reviewed})
    return out


def _gap_tables(ctx: _Context, max_clusters: int, random_state: int, n_examples: int, example_chars: int) -> _Tables:
    """Section 5: requests no guideline in force covered, by topic and by text cluster, with examples."""
    total = Counter(r.topic for r in ctx.items)
    groups: dict[str, list[_Row]] = defaultdict(list)
    for r in ctx.items:
        if r.avoidable is False and r.reason in GAP_REASONS:
            groups[r.topic].append(r)
    rank = ctx.rank
    gaps, clusters = [], []
    for t in sorted(groups, key=lambda t: (-len(groups[t]), rank[t])):
        rs = groups[t]
        later = Counter(r.later_guideline_id or r.guideline_id for r in rs
                        if r.reason == "guideline_came_later" and (r.later_guideline_id or r.guideline_id))
        texts = [r.text for r in rs if r.text]
        summary, found = _cluster_texts(texts, max_clusters, random_state, n_examples, example_chars)
        gaps.append({"topic": t, "label": ctx.label(t), "n": len(rs),
                     "n_no_guideline": sum(r.reason == "no_guideline" for r in rs),
                     "n_came_later": sum(r.reason == "guideline_came_later" for r in rs),
                     "topic_n": total.get(t, 0), "gap_share": _share(len(rs), total.get(t, 0)),
                     "later_guidelines": [g for g, _ in sorted(later.items(), key=lambda x: (-x[1], x[0]))],
                     "top_terms": summary["top_terms"], "examples": summary["examples"]})
        clusters += [{"topic": t, "label": ctx.label(t), "cluster": i, "n": c["size"], "top_terms": c["top_terms"],
                      "examples": c["examples"]} for i, c in enumerate(found, 1)]
    clusters.sort(key=lambda x: (-x["n"], -len(groups[x["topic"]]), rank[x["topic"]], x["cluster"]))
    return {"gaps": (("topic", "label", "n", "n_no_guideline", "n_came_later", "topic_n", "gap_share",
                      "later_guidelines", "top_terms", "examples"), gaps),
            "gap_clusters": (("topic", "label", "cluster", "n", "top_terms", "examples"), clusters)}


def _guideline_tables(ctx: _Context, guidelines: list[Guideline] | None, threshold: float) -> _Tables:
    """Section 6: matches per guideline, guidelines never matched, near-duplicate pairs."""
    by_id = {g.id: g for g in (guidelines or [])}
    matched = Counter(r.guideline_id for r in ctx.items if r.guideline_id)
    matched_av = Counter(r.guideline_id for r in ctx.items if r.guideline_id and r.avoidable)
    matched_later = Counter(r.guideline_id for r in ctx.items
                            if r.guideline_id and r.reason == "guideline_came_later")
    use = []
    for gid, n in sorted(matched.items(), key=lambda x: (-x[1], x[0])):
        g = by_id.get(gid)
        use.append({"guideline_id": gid, "title": g.title if g else None, "topics": list(g.topics) if g else [],
                    "n": n, "share": _share(n, len(ctx.items)), "n_avoidable": matched_av.get(gid, 0),
                    "n_came_later": matched_later.get(gid, 0)})
    # Guidelines retired before the period began could not have been matched: leave them out.
    live = [g for g in (guidelines or []) if not (ctx.start and g.retired and g.retired < ctx.start)]
    unused = [{"guideline_id": g.id, "title": g.title, "family": g.family, "topics": list(g.topics),
               "published": g.published, "retired": g.retired} for g in live if not matched.get(g.id)]
    dups = []
    for i, j, sim in _duplicate_pairs(live, threshold):
        a, b = live[i], live[j]
        dups.append({"guideline_a": a.id, "title_a": a.title, "guideline_b": b.id, "title_b": b.title,
                     "similarity": sim, "shared_topics": [t for t in a.topics if t in b.topics],
                     "n_a": matched.get(a.id, 0), "n_b": matched.get(b.id, 0)})
    return {"guideline_use": (("guideline_id", "title", "topics", "n", "share", "n_avoidable", "n_came_later"), use),
            "guidelines_unused": (("guideline_id", "title", "family", "topics", "published", "retired"), unused),
            "guideline_duplicates": (("guideline_a", "title_a", "guideline_b", "title_b", "similarity",
                                      "shared_topics", "n_a", "n_b"), dups)}


def _trend_tables(ctx: _Context, ratio_min: float, min_increase: int) -> _Tables:
    """Section 7: topics whose count rose markedly from the second-last period to the last."""
    cols = ("topic", "label", "previous_period", "previous_n", "last_period", "last_n", "change", "ratio")
    buckets = ctx.buckets()
    if len(buckets) < 2:
        return {"trends": (cols, [])}
    prev_key, last_key = buckets[-2], buckets[-1]
    counts: dict[tuple[int, int], Counter] = {prev_key: Counter(), last_key: Counter()}
    for r in ctx.items:
        if r.local is not None:
            key = _bucket_key(r.local.date(), ctx.granularity)
            if key in counts:
                counts[key][r.topic] += 1
    rows = []
    for t in ctx.order:
        p, q = counts[prev_key].get(t, 0), counts[last_key].get(t, 0)
        ratio = q / p if p else None
        if q - p >= min_increase and (p == 0 or ratio >= ratio_min):
            rows.append({"topic": t, "label": ctx.label(t), "previous_period": _bucket_name(prev_key, ctx.granularity),
                         "previous_n": p, "last_period": _bucket_name(last_key, ctx.granularity), "last_n": q,
                         "change": q - p, "ratio": ratio})
    rank = ctx.rank
    rows.sort(key=lambda x: (-x["change"], rank[x["topic"]]))
    return {"trends": (cols, rows)}


_WEEKDAYS = {"fi": ("ma", "ti", "ke", "to", "pe", "la", "su"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
SERVICE_QUALITY = ("threads", "answered", "answered_timed", "unanswered", "later_messages_not_back_office",
                   "reply_before_request", "first_from_back_office", "request_no_date", "reply_no_date")
_RESPONSE_COLS = ("n", "n_answered", "answered_share", "median_minutes", "p90_minutes", "within_day_share")


def _service_of(r: dict[str, Any]) -> dict[str, Any]:
    """The service fields of a labelled row (``first_reply_*``, ``service_flags``, ``repeat_of``) for a _Row."""
    flags = _maybe_json(r.get("service_flags"))
    out: dict[str, Any] = {"repeat_of": _clean_str(r.get("repeat_of"))}
    if isinstance(flags, list):  # a list, even empty, marks a mail thread whose first reply was looked for
        try:
            minutes = float(r.get("first_reply_working_minutes"))
            minutes = None if math.isnan(minutes) else minutes
        except (TypeError, ValueError):
            minutes = None
        out.update(thread=True, first_reply=_clean_str(r.get("first_reply_at")) is not None,
                   reply_minutes=minutes, service_flags=tuple(str(f) for f in flags))
    return out


def _service_tables(ctx: _Context, opening_hours: tuple[dt.time, dt.time]) -> _Tables:
    """Section 8: how fast and how reachably the back office answers (issue 11)."""
    from .service import percentile

    text = _TEXT[ctx.lang]
    day = (dt.datetime.combine(dt.date(2000, 1, 1), opening_hours[1])
           - dt.datetime.combine(dt.date(2000, 1, 1), opening_hours[0])).total_seconds() / 60.0
    threads = [r for r in ctx.items if r.thread]
    requests = [r for r in threads if "first_from_back_office" not in r.service_flags]

    def response(group: list[_Row]) -> dict[str, Any]:
        answered = [r for r in group if r.first_reply]
        timed = [r.reply_minutes for r in answered if r.reply_minutes is not None]
        unanswered = [r for r in group if not r.first_reply and "reply_no_date" not in r.service_flags]
        known = len(timed) + len(unanswered)
        return {"n": len(group), "n_answered": len(answered), "answered_share": _share(len(answered), len(group)),
                "median_minutes": percentile(timed, 50), "p90_minutes": percentile(timed, 90),
                "within_day_share": _share(sum(1 for m in timed if m <= day), known)}

    by_topic = []
    for tpc in ctx.order:
        g = [r for r in requests if r.topic == tpc]
        if g:
            by_topic.append({"topic": tpc, "label": ctx.label(tpc), **response(g)})
    by_topic.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n"], ctx.rank[x["topic"]]))
    if requests:
        by_topic.append({"topic": "total", "label": text["total"], **response(requests)})
    by_channel = [{"channel": c, "label": text.get(c, c), **response([r for r in requests if r.channel == c])}
                  for c in ctx.channels if any(r.channel == c for r in requests)]
    by_month = []
    months = [_month_key(r.local.date()) for r in requests if r.local is not None]
    for key in ctx.buckets("month"):
        if months and min(months) <= key <= max(months):  # the months the threads span, empty ones as zeros
            g = [r for r in requests if r.local is not None and _month_key(r.local.date()) == key]
            by_month.append({"period": _bucket_name(key, "month"), **response(g)})
    names = _WEEKDAYS[ctx.lang]
    by_weekday = []
    for wd in range(7):
        g = [r for r in requests if r.local is not None and r.local.weekday() == wd]
        if g:
            by_weekday.append({"weekday": wd + 1, "label": names[wd], **response(g)})

    count: Counter = Counter()
    for r in threads:
        count["threads"] += 1
        count["answered"] += r.first_reply
        count["answered_timed"] += r.reply_minutes is not None
        count["unanswered"] += not r.first_reply and not ({"reply_no_date", "first_from_back_office"}
                                                          & set(r.service_flags))
        for f in r.service_flags:
            count[f] += 1
    quality = [{"category": c, "label": text[f"svc_{c}"], "n": count.get(c, 0)} for c in SERVICE_QUALITY] \
        if threads else []

    heat = []
    for c in ctx.channels:
        cells: dict[int, Counter] = defaultdict(Counter)
        for r in ctx.items:
            if r.channel == c and r.local is not None:
                cells[r.local.weekday()][r.local.hour] += 1
        for wd in range(7):
            row: dict[str, Any] = {"channel": c, "weekday": wd + 1, "label": f"{text.get(c, c)} {names[wd]}"}
            row.update({f"h{h:02d}": cells[wd].get(h, 0) for h in range(24)})
            row["total"] = sum(cells[wd].values())
            heat.append(row)

    hol = _finnish_holidays({r.local.year for r in ctx.items if r.local is not None} or {2000})
    emails = [r for r in ctx.items if r.channel == "email" and r.local is not None]
    in_hours = []
    for tpc in ctx.order:
        g = [r for r in emails if r.topic == tpc]
        if g:
            k = sum(1 for r in g if send_time_category(r.local, opening_hours, hol) == "weekday_open")
            in_hours.append({"topic": tpc, "label": ctx.label(tpc), "n": len(g), "n_in_hours": k,
                             "in_hours_share": _share(k, len(g))})
    in_hours.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n_in_hours"], ctx.rank[x["topic"]]))
    if emails:
        k = sum(x["n_in_hours"] for x in in_hours)
        in_hours.append({"topic": "total", "label": text["total"], "n": len(emails), "n_in_hours": k,
                         "in_hours_share": _share(k, len(emails))})

    repeats = []
    for tpc in ctx.order:
        g = [r for r in ctx.items if r.topic == tpc]
        if g:
            k = sum(1 for r in g if r.repeat_of)
            repeats.append({"topic": tpc, "label": ctx.label(tpc), "n": len(g), "n_repeat": k,
                            "repeat_share": _share(k, len(g))})
    repeats.sort(key=lambda x: (x["topic"] == UNCERTAIN, -x["n_repeat"], ctx.rank[x["topic"]]))
    if ctx.items:
        k = sum(1 for r in ctx.items if r.repeat_of)
        repeats.append({"topic": "total", "label": text["total"], "n": len(ctx.items), "n_repeat": k,
                        "repeat_share": _share(k, len(ctx.items))})
    return {
        "service_response_by_topic": (("topic", "label", *_RESPONSE_COLS), by_topic),
        "service_response_by_channel": (("channel", "label", *_RESPONSE_COLS), by_channel),
        "service_response_by_month": (("period", *_RESPONSE_COLS), by_month),
        "service_response_by_weekday": (("weekday", "label", *_RESPONSE_COLS), by_weekday),
        "service_quality": (("category", "label", "n"), quality),
        "service_heatmap": (("channel", "weekday", "label", *[f"h{h:02d}" for h in range(24)], "total"), heat),
        "service_email_in_hours": (("topic", "label", "n", "n_in_hours", "in_hours_share"), in_hours),
        "service_repeats": (("topic", "label", "n", "n_repeat", "repeat_share"), repeats),
    }


def _prob_or_none(v: Any) -> float | None:
    """A probability in [0, 1] from a row value, else None."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if 0.0 <= f <= 1.0 else None


def _to_bool_or_none(v: Any) -> bool | None:
    """A boolean label, or None when missing or unreadable."""
    try:
        return _to_bool(v)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Formatting


def _fmt_time(t: dt.time, lang: str) -> str:
    """A clock time as Finns (8.30) or English readers (08:30) write it."""
    return f"{t.hour}.{t.minute:02d}" if lang == "fi" else f"{t.hour:02d}:{t.minute:02d}"


def _fmt_num(x: float, digits: int, lang: str) -> str:
    """A decimal number with the language's decimal mark."""
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "fi" else s


def _fmt_pct(x: float | None, lang: str) -> str:
    """A share as a percentage."""
    if x is None:
        return "–"
    return f"{_fmt_num(100 * x, 1, lang)} %"


_LABEL_HEADER = {"avoidable_overall": "col_group", "avoidable_reasons": "col_reason", "review_accuracy": "col_measure",
                 "avoidable_by_channel": "col_channel", "send_times": "col_send_time",
                 "service_response_by_channel": "col_channel", "service_response_by_weekday": "col_weekday",
                 "service_quality": "col_category", "service_heatmap": "col_channel_weekday"}


def _header(key: str, lang: str, report: Report, table: str = "") -> str:
    """Column header of a table key, channels and reason codes included."""
    text = _TEXT[lang]
    if key == "label" and table in _LABEL_HEADER:
        return text[_LABEL_HEADER[table]]
    if f"col_{key}" in text:
        return text[f"col_{key}"]
    if key in report.channels:
        return text.get(key, key)
    for suffix, word in (("_n", ""), ("_share", " %")):
        if key.endswith(suffix) and key[: -len(suffix)] in report.channels:
            ch = key[: -len(suffix)]
            return text.get(ch, ch) + word
    if key.startswith("reason_"):
        return text.get(key[7:], key[7:])
    if table == "service_heatmap" and re.fullmatch(r"h\d\d", key):
        return key[1:]
    return key


# Keys shown in Markdown and HTML (CSV carries every key); "ci" is drawn from ci_low and ci_high.
_DISPLAY_DROP = {"topic", "start", "end", "category", "reason", "channel", "ci_low", "ci_high", "method", "weekday",
                 "reviews_ci_low", "reviews_ci_high", "measure"}


def _display_columns(report: Report, name: str) -> list[str]:
    """Columns of a table as shown to readers."""
    cols = [c for c in report.columns[name] if c not in _DISPLAY_DROP]
    if "estimate" in cols and "ci_low" in report.columns[name]:
        cols.insert(cols.index("estimate") + 1, "ci")
    elif "share" in cols and "ci_low" in report.columns[name]:
        cols.insert(cols.index("share") + 1, "ci")
    if name in ("review_avoidable", "review_topics"):
        cols.insert(cols.index("model_share") + 1, "estimate")
        cols.insert(cols.index("estimate") + 1, "ci")
        if name == "review_topics":
            cols.insert(cols.index("ci") + 1, "reviews_ci")
    if name.startswith("avoidable"):
        cols = [c for c in cols if not c.startswith("reason_") or any(r.get(c) for r in report.table(name))]
    return cols


def _cell(report: Report, row: dict[str, Any], key: str) -> str:
    """Display text of one cell."""
    lang = report.lang
    if key in ("ci", "reviews_ci"):
        lo, hi = (row.get("ci_low"), row.get("ci_high")) if key == "ci" else (row.get("reviews_ci_low"),
                                                                              row.get("reviews_ci_high"))
        if lo is None:
            return "–"
        return f"{_fmt_num(100 * lo, 1, lang)}–{_fmt_num(100 * hi, 1, lang)} %"
    v = row.get(key)
    if v is None:
        if key == "ratio" and row.get("previous_n") == 0:
            return _TEXT[lang]["new"]
        return "–" if key in ("share", "gap_share", "ratio", "title", "estimate") or key.endswith("_share") else ""
    if key in ("share", "gap_share", "estimate", "reviews_estimate") or key.endswith("_share"):
        return _fmt_pct(v, lang)
    if key == "similarity":
        return _fmt_num(v, 2, lang)
    if key.endswith("_minutes"):
        return _fmt_num(v, 0, lang)
    if key == "ratio":
        return _fmt_num(v, 2, lang)
    if isinstance(v, bool):
        return _TEXT[lang]["yes" if v else "no"]
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) if key != "examples" else " | ".join(f"“{x}”" for x in v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _csv_value(v: Any) -> Any:
    """A CSV cell: lists joined, floats rounded, dates ISO."""
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, (list, tuple)):
        return " | ".join(map(str, v))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


# ---------------------------------------------------------------------------------------------
# Figures


def _figures(report: Report, fig_dir: Path) -> dict[str, Path]:
    """Draw each section's figure as a PNG (Agg canvas, no pyplot state); return name -> path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig_dir.mkdir(parents=True, exist_ok=True)
    t = _TEXT[report.lang]
    colours = {"email": "#1f77b4", "phone": "#ff7f0e"}
    out: dict[str, Path] = {}

    def save(fig: Figure, name: str) -> None:
        FigureCanvasAgg(fig)
        path = fig_dir / f"{name}.png"
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
        out[name] = path

    def barh(ax, labels: list[str], values: list[float], **kw) -> None:
        y = list(range(len(labels)))
        ax.barh(y, values, **kw)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
        if not ax.yaxis_inverted():
            ax.invert_yaxis()

    if report.volumes and report.channels:
        fig = Figure(figsize=(8, 3.8))
        ax = fig.subplots()
        x = list(range(len(report.volumes)))
        names = [r["period"] for r in report.volumes]
        width = 0.8 / len(report.channels)
        for k, c in enumerate(report.channels):
            vals = [r[c] for r in report.volumes]
            if len(x) <= 24:
                ax.bar([i + (k - (len(report.channels) - 1) / 2) * width for i in x], vals, width,
                       label=t.get(c, c), color=colours.get(c))
            else:
                ax.plot(x, vals, marker="o", ms=3, label=t.get(c, c), color=colours.get(c))
        step = max(1, len(x) // 16)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(names[::step], rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(t["axis_count"])
        ax.set_title(t["fig_volumes"])
        ax.legend(fontsize=8)
        save(fig, "volumes")

    shown = [r for r in report.topics if r["total_n"]]
    if shown and report.channels:
        fig = Figure(figsize=(2.5 + 4 * len(report.channels), 0.35 * len(shown) + 1.5))
        axes = fig.subplots(1, len(report.channels), squeeze=False, sharey=True)[0]
        for k, (ax, c) in enumerate(zip(axes, report.channels)):
            barh(ax, [r["label"] for r in shown], [r[f"{c}_n"] for r in shown], color=colours.get(c))
            if k:
                ax.tick_params(labelleft=False)
            ax.set_title(f"{t.get(c, c)} (n = {report.n_by_channel.get(c, 0)})", fontsize=10)
            ax.set_xlabel(t["axis_count"])
        fig.suptitle(t["fig_topics"])
        save(fig, "topics")

    cats = [r for r in report.send_times if r["category"] != "total"]
    if cats:
        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        barh(ax, [r["label"] for r in cats], [r["n"] for r in cats], color=colours["email"])
        for i, r in enumerate(cats):
            ax.text(r["n"], i, f" {r['n']} ({_fmt_pct(r['share'], report.lang)})", va="center", fontsize=8)
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_send_times"])
        ax.margins(x=0.25)
        save(fig, "send_times")

    rows = [r for r in report.avoidable_by_topic if r["n"]]
    if rows:
        fig = Figure(figsize=(7, 0.35 * len(rows) + 1.5))
        ax = fig.subplots()
        vals = [100 * r["estimate"] for r in rows]
        # the interval is rounded for the tables: clip so a bar never gets a negative whisker
        err = [[max(0.0, 100 * (r["estimate"] - r["ci_low"])) for r in rows],
               [max(0.0, 100 * (r["ci_high"] - r["estimate"])) for r in rows]]
        barh(ax, [f"{r['label']} ({r['n_avoidable']}/{r['n']})" for r in rows], vals, xerr=err, color="#d62728",
             alpha=0.8, ecolor="#333333", capsize=3)
        ax.set_xlim(0, 100)
        ax.set_xlabel(t["axis_share"])
        ax.set_title(t["fig_avoidable_by_topic"])
        save(fig, "avoidable_by_topic")

    rows = report.avoidable_by_month
    if rows and any(r["n"] for r in rows):
        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        x = [i for i, r in enumerate(rows) if r["n"]]
        ax.plot(x, [100 * rows[i]["estimate"] for i in x], marker="o", color="#d62728")
        ax.fill_between(x, [100 * rows[i]["ci_low"] for i in x], [100 * rows[i]["ci_high"] for i in x],
                        color="#d62728", alpha=0.2)
        ax.set_xticks(list(range(len(rows))))
        ax.set_xticklabels([r["period"] for r in rows], rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel(t["axis_share"])
        ax.set_title(t["fig_avoidable_by_month"])
        save(fig, "avoidable_by_month")

    if report.gaps:
        rows = report.gaps[:20]
        fig = Figure(figsize=(7, 0.35 * len(rows) + 1.5))
        ax = fig.subplots()
        labels = [r["label"] for r in rows]
        barh(ax, labels, [r["n_no_guideline"] for r in rows], color="#9467bd", label=t["no_guideline"])
        ax.barh(list(range(len(rows))), [r["n_came_later"] for r in rows],
                left=[r["n_no_guideline"] for r in rows], color="#c5b0d5", label=t["guideline_came_later"])
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_gaps"])
        ax.legend(fontsize=8)
        save(fig, "gaps")

    if report.guideline_use:
        rows = report.guideline_use[:20]
        fig = Figure(figsize=(7, 0.3 * len(rows) + 1.5))
        ax = fig.subplots()
        barh(ax, [f"{r['guideline_id']} {(r['title'] or '')[:40]}" for r in rows], [r["n"] for r in rows],
             color="#2ca02c")
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_guideline_use"])
        save(fig, "guideline_use")

    if report.trends:
        rows = report.trends
        fig = Figure(figsize=(7, 0.45 * len(rows) + 1.5))
        ax = fig.subplots()
        y = list(range(len(rows)))
        ax.barh([i - 0.2 for i in y], [r["previous_n"] for r in rows], 0.4, color="#aec7e8",
                label=rows[0]["previous_period"])
        ax.barh([i + 0.2 for i in y], [r["last_n"] for r in rows], 0.4, color="#1f77b4", label=rows[0]["last_period"])
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_trends"])
        ax.legend(fontsize=8)
        save(fig, "trends")

    # Section 8, service: drawn only when the rows carry service fields (mail threads labelled by this version)
    rows = [r for r in report.service_response_by_topic if r["topic"] != "total" and r["median_minutes"] is not None]
    if rows:
        fig = Figure(figsize=(7, 0.4 * len(rows) + 1.5))
        ax = fig.subplots()
        y = list(range(len(rows)))
        ax.barh([i - 0.2 for i in y], [r["median_minutes"] for r in rows], 0.4, color="#1f77b4", label=t["median"])
        ax.barh([i + 0.2 for i in y], [r["p90_minutes"] for r in rows], 0.4, color="#aec7e8", label=t["p90"])
        ax.set_yticks(y)
        ax.set_yticklabels([f"{r['label']} ({r['n_answered']}/{r['n']})" for r in rows], fontsize=8)
        ax.invert_yaxis()
        o, c = report.opening_hours
        day = (dt.datetime.combine(dt.date(2000, 1, 1), c) - dt.datetime.combine(dt.date(2000, 1, 1), o)).seconds / 60
        ax.axvline(day, color="#d62728", ls="--", lw=1)
        ax.set_xlabel(t["axis_minutes"])
        ax.set_title(t["fig_service_response_by_topic"])
        ax.legend(fontsize=8)
        save(fig, "service_response_by_topic")
    heat = report.service_heatmap
    if heat and report.service_quality and any(r["total"] for r in heat):
        chans = [c for c in report.channels if any(r["channel"] == c and r["total"] for r in heat)]
        fig = Figure(figsize=(8, 2.2 * len(chans) + 0.8), layout="constrained")
        axes = fig.subplots(len(chans), 1, squeeze=False)[:, 0]
        for ax, c in zip(axes, chans):
            grid = [[r[f"h{h:02d}"] for h in range(24)] for r in heat if r["channel"] == c]
            im = ax.imshow(grid, aspect="auto", cmap="Blues")
            ax.set_yticks(range(7))
            ax.set_yticklabels(_WEEKDAYS[report.lang], fontsize=8)
            ax.set_xticks(range(0, 24, 2))
            ax.set_xticklabels([str(h) for h in range(0, 24, 2)], fontsize=8)
            ax.set_title(f"{t.get(c, c)} (n = {report.n_by_channel.get(c, 0)})", fontsize=10)
            fig.colorbar(im, ax=ax, fraction=0.03)
        axes[-1].set_xlabel(t["axis_hour"])
        fig.suptitle(t["fig_service_heatmap"])
        save(fig, "service_heatmap")
    return out


# Which figure stands beside which table.
_FIGURE_OF = {"volumes": "volumes", "topics": "topics", "send_times": "send_times",
              "avoidable_by_topic": "avoidable_by_topic", "avoidable_by_month": "avoidable_by_month",
              "gaps": "gaps", "guideline_use": "guideline_use", "trends": "trends",
              "service_response_by_topic": "service_response_by_topic", "service_heatmap": "service_heatmap"}

# ---------------------------------------------------------------------------------------------
# Writing


def _meta_lines(report: Report) -> list[tuple[str, str]]:
    """Label/value pairs for the report header."""
    t = _TEXT[report.lang]
    period = f"{_iso(report.period_from) or '–'} – {_iso(report.period_to) or '–'}"
    chans = ", ".join(f"{t.get(c, c)} {report.n_by_channel[c]}" for c in report.channels) or "–"
    out = [(t["period"], period), (t["granularity"], t[report.granularity]), (t["n_rows"], str(report.n_rows)),
           (t["n_analysed"], str(report.n_analysed)), (t["channels"], chans), (t["n_errors"], str(report.n_errors))]
    if report.n_undated:
        out.append((t["n_undated"], str(report.n_undated)))
    if report.n_outside_period:
        out.append((t["n_outside_period"], str(report.n_outside_period)))
    return out


def _section_notes(report: Report, section: str) -> list[str]:
    """Explanatory sentences under a section title."""
    t = _TEXT[report.lang]
    notes = [] if section == "service" else [
        t[f"note_{section}"].format(ratio=_fmt_num(report.settings.get("trend_ratio", 1.5), 1, report.lang),
                                    min_increase=report.settings.get("trend_min_increase", 5),
                                    **{"n_reviewed": 0, "n_total": 0, "n_other": 0, **report.review})]
    if section == "gaps" and report.gaps and not report.n_with_text:
        notes.append(t["no_texts"])
    if section == "guidelines" and not report.catalogue_given:
        notes.append(t["note_no_catalogue"])
    if section == "service":
        o, c = report.opening_hours
        day = (dt.datetime.combine(dt.date(2000, 1, 1), c) - dt.datetime.combine(dt.date(2000, 1, 1), o)).seconds // 60
        notes.append(t["note_service"].format(open=_fmt_time(o, report.lang), close=_fmt_time(c, report.lang), day=day))
        q = {r["category"]: r["n"] for r in report.service_quality}
        if q.get("later_messages_not_back_office"):
            notes.append(t["note_service_hint"].format(n=q["later_messages_not_back_office"]))
    return notes


def _md_escape(s: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(s.split()).replace("|", "\\|")


def _write_md(report: Report, path: Path, figures: dict[str, Path]) -> None:
    """Write report.md with tables and links to the figures."""
    t = _TEXT[report.lang]
    lines = [f"# {t['title']}", ""]
    lines += [f"- {k}: {v}" for k, v in _meta_lines(report)]
    for no, (section, tables) in enumerate(SECTIONS, 1):
        if (section == "errors" and not report.errors) or (section == "review" and not report.review):
            continue
        lines += ["", f"## {no}. {t['sec_' + section]}", ""]
        lines += [n for note in _section_notes(report, section) for n in (note, "")]
        for name in tables:
            rows = report.table(name)
            lines += [f"### {t['tbl_' + name]}", ""]
            fig = _FIGURE_OF.get(name)
            if fig in figures:
                lines += [f"![{t['fig_' + fig]}](figures/{figures[fig].name})", ""]
            if not rows:
                lines += [t["no_rows"], ""]
                continue
            cols = _display_columns(report, name)
            lines.append("| " + " | ".join(_md_escape(_header(c, report.lang, report, name)) for c in cols) + " |")
            lines.append("|" + "|".join("---" for _ in cols) + "|")
            for r in rows:
                lines.append("| " + " | ".join(_md_escape(_cell(report, r, c)) for c in cols) + " |")
            lines.append("")
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#222;line-height:1.4}
h1{border-bottom:2px solid #1f77b4}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}
.meta td{padding:.1em 1em .1em 0}.note{color:#555;max-width:60em}
.block{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start;margin-bottom:1.5em}
.block figure{margin:0;flex:0 1 560px}.block img{max-width:100%;height:auto;border:1px solid #eee}
.tbl{flex:1 1 420px;overflow-x:auto}
table.data{border-collapse:collapse;font-size:.9em}
table.data th,table.data td{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
table.data th{background:#f3f6fa}table.data td.num{text-align:right;white-space:nowrap}
td.ex{font-size:.85em;color:#444;max-width:40em}
"""

_NUMERIC = re.compile(r"^[–\d\s.,%+-]+$")


def _write_html(report: Report, path: Path, figures: dict[str, Path]) -> None:
    """Write a self-contained report.html with the figures embedded as data URIs."""
    t = _TEXT[report.lang]
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"{report.lang}\"><head><meta charset=\"utf-8\">",
             f"<title>{e(t['title'])}</title><style>{_CSS}</style></head><body>", f"<h1>{e(t['title'])}</h1>",
             "<table class=\"meta\">"]
    parts += [f"<tr><td>{e(k)}</td><td><b>{e(v)}</b></td></tr>" for k, v in _meta_lines(report)]
    parts.append("</table>")
    for no, (section, tables) in enumerate(SECTIONS, 1):
        if (section == "errors" and not report.errors) or (section == "review" and not report.review):
            continue
        parts.append(f"<section id=\"{section}\"><h2>{no}. {e(t['sec_' + section])}</h2>")
        parts += [f"<p class=\"note\">{e(n)}</p>" for n in _section_notes(report, section)]
        for name in tables:
            rows = report.table(name)
            parts.append(f"<h3>{e(t['tbl_' + name])}</h3><div class=\"block\">")
            fig = _FIGURE_OF.get(name)
            if fig in figures:
                data = base64.b64encode(figures[fig].read_bytes()).decode("ascii")
                parts.append(f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{e(t['fig_' + fig])}\">"
                             f"</figure>")
            parts.append("<div class=\"tbl\">")
            if not rows:
                parts.append(f"<p>{e(t['no_rows'])}</p>")
            else:
                cols = _display_columns(report, name)
                parts.append("<table class=\"data\"><thead><tr>"
                             + "".join(f"<th>{e(_header(c, report.lang, report, name))}</th>" for c in cols)
                             + "</tr></thead><tbody>")
                for r in rows:
                    cells = []
                    for c in cols:
                        if c == "examples":
                            items = "".join(f"<li>{e(x)}</li>" for x in (r.get(c) or []))
                            cells.append(f"<td class=\"ex\"><ul>{items}</ul></td>" if items else "<td></td>")
                            continue
                        v = _cell(report, r, c)
                        cls = " class=\"num\"" if v and _NUMERIC.match(v) else ""
                        cells.append(f"<td{cls}>{e(v)}</td>")
                    parts.append("<tr>" + "".join(cells) + "</tr>")
                parts.append("</tbody></table>")
            parts.append("</div></div>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def write_report(report: Report, out_dir: str | os.PathLike, formats: Sequence[str] = ("md", "html", "csv")
                 ) -> dict[str, Path]:
    """Write a report as Markdown, self-contained HTML, CSV tables and PNG figures.

    Parameters
    ----------
    report : Report
        From :func:`build_report`.
    out_dir : path
        Created if missing. Figures go to ``out_dir/figures/``.
    formats : sequence of str
        Any of ``"md"`` (report.md, linking the figures), ``"html"`` (report.html, the
        figures embedded as base64 data URIs), ``"csv"`` (one file per table, headers are the
        tables' English keys) and ``"json"`` (report.json, every table and the metadata).

    Returns
    -------
    dict of str to Path
        ``"md"``, ``"html"``, ``"json"``, ``"csv:<table>"`` and ``"png:<figure>"`` entries for
        the files written.

    Raises
    ------
    ReportError
        An unknown format.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ReportError(f"unknown report format {bad[0]!r}; formats: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    figures: dict[str, Path] = {}
    if "md" in formats or "html" in formats:
        figures = _figures(report, out_dir / "figures")
        written.update({f"png:{k}": v for k, v in figures.items()})
    if "md" in formats:
        written["md"] = out_dir / "report.md"
        _write_md(report, written["md"], figures)
    if "html" in formats:
        written["html"] = out_dir / "report.html"
        _write_html(report, written["html"], figures)
    if "csv" in formats:
        for name in TABLES:
            path = out_dir / f"{name}.csv"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(report.columns[name])
                for r in report.table(name):
                    w.writerow([_csv_value(r.get(k)) for k in report.columns[name]])
            written[f"csv:{name}"] = path
    if "json" in formats:
        written["json"] = out_dir / "report.json"
        written["json"].write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return written
