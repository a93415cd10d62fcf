#!/usr/bin/env python3
"""Seeded generator of synthetic Finnish support requests (tukipyynnöt).

Composes varied requests that outsourced customer-service agents send to the
contract team (sopimustiimi) of an electricity retailer in 2016, by email or
phone, from a grammar of situations (each with its topic and covering
guideline), phrasings, slot values and noise.  Labels follow
/shared/spec/taxonomy.md: ``topic``, ``guideline_id`` and ``avoidable``
(computed from the dates in ``guidelines.jsonl`` and the flags in
``taxonomy.json`` next to this script).

Usage::

    python corpus/generate.py --seed 2016 --n 10000 --out corpus/generated.jsonl
    python corpus/generate.py --seed 2016 --n 10000 --check   # label-leak report

Standard library only.  The same seed gives byte-identical output.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Europe/Helsinki")

#: Target share of each topic (of all records).
TOPIC_WEIGHTS = {
    "sopimuksen_tekeminen": 22,
    "voimassa_oleva_sopimus": 12,
    "sopimuksen_paattaminen": 11,
    "vahvistuksen_uudelleenlahetys": 8,
    "ohjeistus": 7,
    "sahkoiset_palvelut": 8,
    "reklamaatio": 5,
    "selvityspyynto": 9,
    "tuotteet_ja_hinnastot": 8,
    "kulutusneuvonta": 3,
    "vaara_vastaanottaja": 7,
}

EMAIL_SHARE = 2 / 3

#: Finnish public holidays (and Midsummer Eve) of 2016: no phone requests.
HOLIDAYS_2016 = {
    dt.date(2016, 1, 1), dt.date(2016, 1, 6), dt.date(2016, 3, 25), dt.date(2016, 3, 28),
    dt.date(2016, 5, 5), dt.date(2016, 6, 24), dt.date(2016, 12, 6), dt.date(2016, 12, 24),
    dt.date(2016, 12, 26),
}

BANK = r"""
# ---------------------------------------------------------------------------
# Situation bank.  Syntax (parsed by _parse_bank):
#   @ topic | key | guideline(s) or - | window (from..to) or - | weight
#   s: subject ; subject ; ...        (email subjects)
#   f: fact clause                    (E: email only, P: phone only)
#   a: question or statement          (E: email only, P: phone only)
#   c: customer's own words (quoted in some emails)
#   o: phone-note outcome specific to this situation
#   @@ topic   followed by a:/o:/s: lines that every situation of that topic may use
# Guidelines "G-041,G-042": the first one in force at the request date is used.
# ---------------------------------------------------------------------------

@@ sopimuksen_tekeminen
s: Uusi sopimus ; sopimusasia ; kysymys sopimuksesta

@ sopimuksen_tekeminen | muutto_sisaan | G-002 | - | 2.0
s: Muutto {pvm} ; Uusi osoite ; sopimus uuteen kohteeseen ; muuttoasia
f: asiakas {nimi} muuttaa {pvm} osoitteeseen {osoite}
f: asiakkaalla on muutto tulossa, uusi osoite on {osoite} ja avaimet saa {pvm}
f: {nimi} on muuttamassa omakotitaloon ({osoite}) ja haluaa sähköt sinne meiltä
f: asiakas on ostanut asunnon, osoite {osoite}, ja kaupat tehdään {pvm}
f: asiakas muuttaa uuteen kämppään {pvm}, osoite {osoite}
f: P:muutto {pvm} -> {osoite}, uusi sop.
a: Mistä päivästä uusi sopimus pitää aloittaa?
a: Voiko uuden sopimuksen tehdä jo nyt, vaikka muutto on vasta {pvm}?
a: Hoidetaanko vanhan osoitteen päättäminen samalla vai erikseen?
a: Miten tämmönen muutto tehdään järjestelmässä?
a: Onks avainten luovutuspäivä se aloituspäivä?
c: Hei, muutan {pvm} uuteen osoitteeseen {osoite}. Miten saan sähkösopimuksen sinne? Nykyinen sopimus on teillä.
c: Moi! Ostimme talon ja muutamme {pvm}. Voiko sähkösopimuksen tehdä sähköpostilla? Terveisin {nimi}

@ sopimuksen_tekeminen | toiselta_myyjalta | G-004 | - | 1.6
s: Uusi asiakas ; Myyjän vaihto ; asiakas tulossa meille
f: uusi asiakas, nykyinen myyjä on {myyja}
f: asiakas haluaa siirtyä meille, nyt sähköt tulee firmasta {myyja}
f: {nimi} on tulossa asiakkaaksi toiselta sähkönmyyjältä ({myyja})
f: asiakkaalla on vielä sopimus toisella yhtiöllä ({myyja}), määräaikainen päättyy {pvm}
f: P:uusi as. tulossa {myyja} -> meille
a: Pitääkö asiakkaan irtisanoa vanha sopimus itse vai hoidetaanko se meiltä?
a: Kauanko vaihto kestää?
a: Voiko sopimuksen tehdä jo nyt vaikka vanha on määräaikainen?
a: Mistä päivästä meidän sopimus alkaa jos vaihto laitetaan vireille tänään?
a: Pitäiskö asiakkaan ite soittaa vanhalle myyjälle?
c: Haluaisin vaihtaa sähkösopimukseni teille. Nykyinen sopimus on {myyja}. Miten toimin?

@ sopimuksen_tekeminen | aloituspaiva | G-003 | - | 1.5
s: aloituspäivä ; Takautuva aloitus? ; sopimuksen alku
f: asiakas haluaisi sopimuksen alkamaan takautuvasti {pvm_men} alkaen
f: asiakas muutti jo {pvm_men}, mutta ottaa yhteyttä vasta nyt
f: asiakas haluaa uuden sopimuksen alkavan heti huomenna
f: sopimusta tehdessä aikaisin tarjottu aloituspäivä on {pvm}, asiakas haluaisi aiemmin
f: mulla on asiakas joka olis halunnu sopparin voimaan jo viime viikolla
a: Kuinka pitkälle taaksepäin sopimuksen voi aloittaa?
a: Voiko aloituspäiväksi laittaa {pvm_men}?
a: Mikä on aikaisin mahdollinen aloituspäivä?
a: Miksi järjestelmä ei anna valita aiempaa päivää?
a: Onko tähän joku sääntö, montako päivää pitää olla?

@ sopimuksen_tekeminen | pk_yritys | G-005 | - | 1.3
s: Yrityssopimus ; pk-asiakas ; y-tunnus {ytunnus}
f: yritysasiakas {yritys} (y-tunnus {ytunnus}) haluaa sähkösopimuksen toimitiloihin osoitteessa {osoite}
f: pieni yritys, {yritys}, tekee sopimusta ja soittaja ei ole yrityksen omistaja vaan työntekijä
f: toiminimiyrittäjä haluaa tehdä sopimuksen yrityksen nimiin, y-tunnus {ytunnus}
f: {yritys} aloittaa toiminnan uudessa liiketilassa {pvm}
f: P:pk-asiakas {yritys}, uusi sop. liiketilaan
a: Kuka yrityksessä saa allekirjoittaa sopimuksen?
a: Tehdäänkö tämä kuluttajasopimuksena vai yrityssopimuksena?
a: Kerrotaanko yritykselle hinnat alvillisina vai alv 0?
a: Mitä tietoja yrityksestä tarvitaan sopimusta varten?
a: Mihin y-tunnus laitetaan järjestelmässä?

@ sopimuksen_tekeminen | kesamokki | G-012 | - | 1.2
s: Mökin sopimus ; vapaa-ajan asunto ; kesämökki
f: asiakas on ostanut kesämökin osoitteesta {osoite}
f: asiakkaalla on jo meillä sopimus kotiin ja nyt hän haluaa sopimuksen myös vapaa-ajan asunnolle
f: mökille ({osoite}) pitäisi saada sähkösopimus, käyttö on lähinnä kesäisin
f: asiakas otti vanhempiensa mökin omaan käyttöön ja haluaa sinne sähköt omiin nimiin
a: Tarvitaanko mökille oma sopimus?
a: Mikä tuote kannattaa mökille kun käyttö on vain kesällä?
a: Voiko mökin liittää samaan sopimukseen kuin kodin?
a: Miten vapaa-ajan asunnon sopimus tehdään?
c: Hei, ostimme kesämökin ja tarvitsisimme sinne sähkösopimuksen. Osoite on {osoite}. Mitä tietoja tarvitsette?

@ sopimuksen_tekeminen | crm_virhe | G-006 | - | 1.6
s: Virhe järjestelmässä ; Sopimus ei tallennu ; virheilmoitus ; CRM herjaa
f: E:yritin tehdä uutta sopimusta asiakkaalle {nimi}, mutta tallennus antaa virheen "{virhe}"
f: CRM ei anna tallentaa uutta sopimusta, tulee ilmoitus "{virhe}"
f: uuden sopimuksen tallennus kaatuu virheeseen "{virhe}"
f: E:järjestelmä herjaa "{virhe}" kun teen sopimusta käyttöpaikalle {kp}
f: sopimus jää luonnokseksi eikä mene läpi, virhe {virhe}
f: P:uusi sopimus ei tallennu, herja "{virhe}"
a: Mitä tässä pitää tehdä?
a: E:Mistä virhe johtuu ja miten saan sopimuksen tallennettua?
a: Voiko sopimuksen tallentaa jotenkin muuten?
a: Mitä tämä virhe tarkoittaa?
a: Onko vika asiakkaan tiedoissa vai järjestelmässä?

@ sopimuksen_tekeminen | luottotiedot | G-009 | - | 1.2
s: luottotiedot ; Luottotarkistus ei mene läpi ; vakuus?
f: asiakkaan luottotiedot eivät menneet läpi uutta sopimusta tehdessä
f: luottotietotarkistus antoi hylätyn tuloksen asiakkaalle {nimi}
f: asiakkaalla on maksuhäiriömerkintä ja sopimus ei mene läpi
f: asiakas haluaa sopimuksen, mutta järjestelmä vaatii vakuuden luottotietojen takia
a: Voiko sopimuksen tehdä ennakkomaksulla?
a: Paljonko vakuus on ja miten se maksetaan?
a: Voiko joku toinen toimia takaajana?
a: Miten tässä toimitaan, asiakas tarvitsee sähköt {pvm} alkaen?

@ sopimuksen_tekeminen | kayttopaikka | G-007 | - | 1.2
s: käyttöpaikkatunnus ; kp puuttuu ; käyttöpaikka ei löydy
f: asiakas ei tiedä käyttöpaikkatunnusta uudelle osoitteelle {osoite}
f: E:en löydä käyttöpaikkaa osoitteella {osoite}
f: osoitehaku ei löydä käyttöpaikkaa, asunto on {osoite}
f: asiakkaalla on vain mittarin numero, ei käyttöpaikkatunnusta
a: Mistä käyttöpaikkatunnuksen saa selville?
a: Voiko sopimuksen tehdä ilman käyttöpaikkatunnusta?
a: Mistä tämän saa haettua?
a: Pitääkö asiakkaan soittaa verkkoyhtiöön vai löytyykö tieto meiltä?

@ sopimuksen_tekeminen | ulkomaalainen | G-008 | - | 0.9
s: Asiakkaalla ei hetua ; ulkomaalainen asiakas ; alaikäinen
f: asiakas on vaihto-opiskelija eikä hänellä ole suomalaista henkilötunnusta
f: uusi asiakas on muuttanut Suomeen {pvm_men}, henkilötunnusta ei vielä ole
f: 17-vuotias asiakas muuttaa omaan asuntoon ja haluaa sopimuksen omiin nimiin
f: asiakas on tullut Virosta töihin, asuu osoitteessa {osoite}, eikä hänellä ole hetua
a: Voiko sopimuksen tehdä ilman henkilötunnusta?
a: Saako alaikäiselle tehdä sähkösopimuksen?
a: Miten luottotiedot tarkistetaan kun hetua ei ole?
a: Mitä tietoja tarvitaan tällaisessa tapauksessa?

@ sopimuksen_tekeminen | uudisrakennus | G-010 | - | 0.9
s: Uudiskohde ; työmaasähkö ; uusi talo
f: asiakas rakentaa omakotitaloa osoitteeseen {osoite} ja tarvitsee työmaasähkön
f: uudiskohde, talo valmistuu {pvm} ja liittymä on tilattu
f: asiakkaalle pitäisi tehdä sopimus uuteen taloon, mutta käyttöpaikkaa ei vielä löydy järjestelmästä
f: rakennustyömaalle tarvitaan sähkösopimus, tilaaja {nimi}
a: Voiko sopimuksen tehdä ennen kuin liittymä on valmis?
a: Mistä päivästä sopimus alkaa uudiskohteessa?
a: Miten työmaasähkön sopimus tehdään?
a: Odotetaanko että käyttöpaikka tulee järjestelmään?

@ sopimuksen_tekeminen | puhelinsopimus | G-062 | - | 1.0
s: Puhelinsopimus ; suullinen sopimus ; nauhoitus
f: asiakas haluaa tehdä sopimuksen puhelimessa eikä halua kirjautua mihinkään
f: asiakas kysyy, tarvitaanko allekirjoitusta jos sopimus tehdään puhelimessa
f: E:tein asiakkaalle sopimuksen puhelimessa, ja hän kysyi onko puhelu nauhoitettu
f: asiakas epäröi tehdä sopimusta puhelimessa
a: Riittääkö suullinen sopimus?
a: Pitääkö puhelu nauhoittaa kun sopimus tehdään?
a: Mitä asiakkaalle pitää kertoa peruutusoikeudesta kun sopimus tehdään puhelimessa?
a: Onko puhelinsopimus yhtä pätevä kuin kirjallinen?

@ sopimuksen_tekeminen | tuotteen_valinta | G-011 | - | 1.2
s: Mikä tuote? ; tuotevalinta uudelle ; uusi sopimus, tuote
f: uusi asiakas ei osaa päättää tuotetta, asuu kerrostalossa ja kulutus on noin {kwh} vuodessa
f: asiakas tekee ensimmäistä sopimustaan ja kysyi, mikä tuote kannattaa valita
f: asiakas on muuttamassa omakotitaloon, jossa on sähkölämmitys, ja tekee meille uutta sopimusta
f: uuteen sopimukseen pitäisi valita {tuote} tai {tuote2}, asiakas ei tiedä kumpi
a: Mitä tuotetta suosittelette uuteen sopimukseen?
a: Kumpi tuote tähän kannattaa laittaa?
a: Mihin tuotteeseen sopimus kannattaa tehdä?
a: Onko jotain ohjetta, millä perusteella tuote valitaan uudelle asiakkaalle?

@ sopimuksen_tekeminen | kevatkampanja_uusi | G-044 | 2016-03-01..2016-06-20 | 1.0
s: kampanjakoodi ; Kevätkampanja ; kampanja uudelle asiakkaalle
f: uusi asiakas haluaa kevään kampanjan, mutta kampanjakoodi {kampanjakoodi} ei mene läpi sopimusta tehdessä
f: asiakas näki mainoksen kevätkampanjasta ja haluaa tehdä sopimuksen sillä
f: E:tein uutta sopimusta kampanjahinnalla, mutta kampanja ei tartu sopimukseen
f: asiakas tulee toiselta myyjältä ja haluaa kampanjaedun kolmelle ensimmäiselle kuukaudelle
a: Saako kampanjaedun vielä?
a: Mihin kampanjakoodi laitetaan?
a: Koskeeko kampanja tätä asiakasta?
a: Miten kampanja lisätään uuteen sopimukseen?

@ sopimuksen_tekeminen | yhteissopimus | - | - | 0.8
s: kaksi nimeä sopimukselle ; yhteinen sopimus
f: pariskunta haluaa uuden sopimuksen molempien nimiin
f: asiakas ja avopuoliso muuttavat yhdessä osoitteeseen {osoite} ja haluavat yhteisen sopimuksen
f: kaksi kämppistä haluaa tehdä sopimuksen yhdessä, niin että molemmat ovat sopimuksella
a: Voiko sopimukselle laittaa kaksi sopimusosapuolta?
a: Miten kaksi nimeä lisätään uuteen sopimukseen?
a: Onko tämä mahdollista ja kenen luottotiedot tarkistetaan?
a: Onnistuuko tää ollenkaan?

@ sopimuksen_tekeminen | kaksi_kayttopaikkaa | - | - | 0.8
s: useampi käyttöpaikka ; kaksi mittaria
f: asiakkaalla on omakotitalo ja erillinen autotalli, jossa on oma mittari
f: asiakas haluaa samalla kertaa sopimuksen kolmelle käyttöpaikalle (talo, saunarakennus ja varasto)
f: uudessa kohteessa {osoite} on kaksi käyttöpaikkaa
a: Tehdäänkö jokaiselle käyttöpaikalle oma sopimus?
a: Voiko molemmat laittaa samalle sopimukselle?
a: Miten tämä kannattaa tehdä järjestelmässä?

@ sopimuksen_tekeminen | taloyhtio | - | - | 0.7
s: taloyhtiön sopimus ; kiinteistösähkö
f: taloyhtiön isännöitsijä haluaa sopimuksen yhtiön yleissähkölle (porraskäytävät, sauna, pesutupa)
f: asunto-osakeyhtiö tarvitsee uuden sähkösopimuksen kiinteistösähkölle
f: metsästysseura haluaa sähkösopimuksen majalleen
a: Tehdäänkö tämä yrityssopimuksena?
a: Kenen nimiin sopimus tehdään ja kuka sen voi allekirjoittaa?
a: Mitä tuotteita tällaiselle asiakkaalle voi tarjota?

@ sopimuksen_tekeminen | crm_toukokuu | G-061 | 2016-05-09..2016-07-15 | 1.0
s: CRM päivitys ; uusi näkymä ; missä kenttä?
f: järjestelmäpäivityksen jälkeen uuden sopimuksen näkymästä puuttuu aloituspäivän kenttä
f: E:CRM:n uudessa versiossa en löydä enää kohtaa, mihin uudelle sopimukselle laitetaan kampanjakoodi
f: toukokuun päivityksen jälkeen uusi sopimus vaatii puhelinnumeron, jota asiakkaalla ei ole
f: uusi sopimus -painike on siirtynyt jonnekin päivityksen jälkeen
a: Missä tämä nyt on?
a: Miten uusi sopimus nyt tehdään?
a: Onko muutoksista jossain ohjetta?
a: Pitääkö kenttä nyt täyttää vai voiko sen ohittaa?

@ sopimuksen_tekeminen | perus_uusi | G-001 | - | 1.2
s: Uusi asiakas ; ensimmäinen sopimus ; kuluttajasopimus
f: uusi asiakas, joka ei ole ollut meillä aiemmin asiakkaana
f: asiakas haluaa tehdä sopimuksen, eikä hänellä ole vielä asiakasnumeroa
f: E:olen tekemässä ensimmäistä kuluttajasopimustani itsenäisesti
f: asiakas haluaa sopimuksen osoitteeseen {osoite}, ei ole ennen ollut meillä
a: Missä järjestyksessä sopimus tehdään, ensin asiakas vai sopimus?
a: Lähteekö vahvistus automaattisesti kun sopimus on tehty?
a: Miten uusi asiakas perustetaan järjestelmään?
a: Mitä kaikkea pitää kysyä ennen sopimuksen tekemistä?

@@ voimassa_oleva_sopimus
s: sopimusmuutos ; kysymys sopimuksesta ; muutos sopimukselle

@ voimassa_oleva_sopimus | tuotteen_vaihto | G-014 | - | 1.8
s: Tuotevaihto ; tuotteen vaihto ; vaihto {tuote2}
f: asiakas haluaa vaihtaa tuotteen {tuote} -> {tuote2}
f: asiakkaalla on nyt {tuote} ja hän haluaisi tuotteeksi {tuote2}
f: asiakas haluaa vaihtaa nykyisen sopimuksensa toiseen tuotteeseen, koska naapuri maksaa vähemmän
f: asiakas vaihtoi tuotetta viimeksi {pvm_men} ja haluaa nyt vaihtaa taas
f: P:tuotevaihto {tuote} -> {tuote2}
a: Mistä päivästä uusi tuote alkaa?
a: Voiko tuotetta vaihtaa kesken määräajan?
a: Kuinka usein tuotetta saa vaihtaa?
a: Tehdäänkö tuotevaihto uutena sopimuksena vai muutoksena?
c: Hei, haluaisin vaihtaa sähkösopimukseni tuotteeseen {tuote2}. Onnistuuko se heti? t. {nimi}

@ voimassa_oleva_sopimus | maaraaikainen_jatko | G-015 | - | 1.4
s: Määräaikaisen jatko ; jatkotarjous ; sopimus päättymässä
f: asiakkaan määräaikainen sopimus päättyy {pvm} ja hän sai jatkotarjouksen
f: asiakkaalle tuli kirje määräaikaisen jatkosta, eikä hän ole vielä vastannut siihen
f: asiakkaan 12 kk kiinteä on loppumassa {pvm}
f: asiakas haluaa jatkaa määräaikaista sopimustaan toisella kaudella
a: Mitä tapahtuu jos asiakas ei tee mitään?
a: Miten jatko tehdään järjestelmässä?
a: Jatkuuko sopimus automaattisesti toistaiseksi voimassa olevana?
a: Voiko jatkon hyväksyä puhelimessa?

@ voimassa_oleva_sopimus | maksajan_muutos | G-016 | - | 1.3
s: Maksajan muutos ; laskutusosoite ; e-laskuosoite
f: asiakas haluaa, että laskut menevät jatkossa hänen pojalleen {nimi2}
f: laskutusosoite pitäisi vaihtaa osoitteeseen {osoite}, sopimus pysyy muuten ennallaan
f: asiakas vaihtoi pankkia ja verkkolaskuosoite on muuttunut
f: sopimuksen maksajaksi halutaan vaihtaa {nimi2}
a: Voiko maksajan vaihtaa ilman että sopimusta muutetaan?
a: Mistä laskutusosoitteen saa vaihdettua?
a: Tarvitaanko uudelta maksajalta suostumus?
a: Miten tämä muutos tehdään?
c: Hei, laskut pitäisi jatkossa lähettää osoitteeseen {osoite}. Sopimus on minun nimissäni. T. {nimi}

@ voimassa_oleva_sopimus | nimenmuutos | G-017 | - | 1.0
s: Nimenmuutos ; uusi sukunimi
f: asiakas on mennyt naimisiin ja sukunimi on vaihtunut, uusi nimi {nimi}
f: asiakkaan nimi on muuttunut väestörekisterissä, sopimuksella on yhä vanha nimi
f: asiakas haluaa sopimukselle uuden sukunimensä
a: Pitääkö nimenmuutoksesta tehdä uusi sopimus?
a: Riittääkö että nimi vaihdetaan asiakastietoihin?
a: Tarvitaanko joku todistus nimenmuutoksesta?
a: Miten nimi päivitetään sopimukselle?

@ voimassa_oleva_sopimus | siirto_toiselle | G-017 | - | 1.2
s: Sopimuksen siirto ; siirto puolisolle
f: asiakas haluaa siirtää sopimuksen vaimonsa nimiin
f: sopimus on miehen nimissä, mutta nyt vaimo {nimi2} hoitaa asiat ja haluaa sopimuksen itselleen
f: erotilanne: toinen muuttaa pois ja toinen jää asuntoon, sopimus on poismuuttavan nimissä
f: asiakas haluaa siirtää sopimuksen aikuiselle lapselleen, joka jää asumaan asuntoon
a: Voiko sopimuksen siirtää suoraan toiselle henkilölle?
a: Tarvitaanko molempien suostumus?
a: Tehdäänkö uudelle henkilölle kokonaan uusi sopimus?
a: Miten siirto tehdään ilman katkoa?

@ voimassa_oleva_sopimus | sopimusehdot | G-018 | - | 1.0
s: sopimusehdot ; irtisanomisaika? ; ehdot
f: asiakas kysyy, mikä on hänen sopimuksensa irtisanomisaika
f: asiakas kysyy, saako hinnan muuttaa kesken sopimuksen
f: asiakas haluaa tietää, mitä erityisehtoja hänen tuotteessaan ({tuote}) on
f: asiakas väittää, että sopimusehtoja on muutettu ilman ilmoitusta
a: Mitä sopimusehdoissa sanotaan tästä?
a: Kuinka paljon etukäteen hinnanmuutoksesta pitää ilmoittaa?
a: Onko tähän tuotteeseen erityisehtoja?
a: Mistä löydän voimassa olevat ehdot?

@ voimassa_oleva_sopimus | yhteystiedot | G-019 | - | 1.0
s: yhteystiedot ; markkinointikielto ; uusi puhelinnumero
f: asiakkaan puhelinnumero ja sähköposti ovat vaihtuneet (uusi puh. {puh})
f: asiakas ei halua enää markkinointia sähköpostiin
f: asiakkaan sähköpostiosoite on väärin, pitäisi olla {email}
f: asiakas haluaa päivittää yhteystietonsa, uusi numero {puh}
a: Mistä kohtaa yhteystiedot päivitetään?
a: Miten markkinointikiellon saa laitettua?
a: E:Voinko päivittää tiedot itse vai pitääkö teidän tehdä se?
a: Päivittyvätkö tiedot sopimukselle automaattisesti?

@ voimassa_oleva_sopimus | sopimuksen_tiedot | G-020 | - | 1.0
s: sopimuksen tiedot ; mikä tuote asiakkaalla? ; voimassaolo
f: asiakas ei muista, mikä tuote hänellä on ja milloin sopimus on tehty
f: asiakas kysyy, milloin hänen määräaikaisensa päättyy
f: asiakas haluaa tietää, mikä hänen nykyinen hintansa on
f: asiakas kysyy, onko hänen sopimuksensa määräaikainen vai toistaiseksi voimassa
a: Mistä näen sopimuksen tuotteen ja hinnan?
a: Missä kohtaa järjestelmää tämä tieto on?
a: Miten sopimuksen voimassaolo tarkistetaan?
a: E:Voinko kertoa nämä tiedot asiakkaalle suoraan?

@ voimassa_oleva_sopimus | tuotevaihto_hinta | G-021 | - | 0.9
s: tuotevaihto takautuvasti ; hinnan muutos tuotevaihdossa
f: asiakas vaihtoi tuotteen {pvm_men} ja haluaa, että uusi hinta lasketaan jo kuun alusta
f: asiakas haluaisi tuotevaihdon takautuvasti edellisen kuun alusta
f: asiakas vaihtaa {tuote} -> {tuote2} ja kysyy, paljonko hinta muuttuu
a: Voiko tuotevaihdon tehdä takautuvasti?
a: Mistä päivästä uusi hinta tulee voimaan?
a: Saako tämän tehtyä jotenkin taaksepäin?
a: Paljonko hinta muuttuu tuotevaihdossa?

@ voimassa_oleva_sopimus | tauko | - | - | 0.8
s: sopimus tauolle? ; asunto tyhjillään
f: asiakas lähtee puoleksi vuodeksi ulkomaille töihin ja asunto jää tyhjäksi
f: asiakas on pitkään sairaalassa ja asunto on tyhjillään
f: asiakas viettää talven etelässä
a: Voiko sopimuksen laittaa tauolle siksi aikaa?
a: Onko mahdollista keskeyttää sopimus ja perusmaksut väliaikaisesti?
a: Mitä vaihtoehtoja asiakkaalle voi tarjota?

@ voimassa_oleva_sopimus | kohdeosoite | - | - | 0.8
s: väärä porras ; osoite sopimuksella
f: sopimuksella käyttöpaikan osoitteessa on väärä porras (A, pitäisi olla B)
f: asiakkaan sopimuksella asunnon numero on väärin, oikea on {osoite}
f: käyttöpaikan osoitteesta puuttuu huoneiston numero
a: Voiko osoitteen korjata sopimukselle vai pitääkö sopimus tehdä uudelleen?
a: Kuka tämän korjaa?
a: Vaikuttaako tämä mitenkään sopimukseen?

@ voimassa_oleva_sopimus | paperikopio | - | - | 0.7
s: kopio sopimuksesta ; vanha sopimus paperilla
f: asiakas haluaa kopion koko sopimuksestaan paperilla, koska sopimus on tehty puhelimessa vuosia sitten
f: asiakas pyytää allekirjoitetun sopimuksen kopion pankkia varten
f: asiakas haluaa nähdä alkuperäisen vuonna 2009 tehdyn sopimuksensa
a: Löytyykö vanhoista sopimuksista kopioita jostain?
a: Voiko tällaisen tulostaa?
a: Mistä vanha sopimus löytyy?

@ voimassa_oleva_sopimus | crm_toukokuu | G-061 | 2016-05-09..2016-07-15 | 0.9
s: CRM muutos ; tuotevaihto uudessa versiossa
f: E:toukokuun järjestelmämuutoksen jälkeen en löydä tuotevaihtoa enää valikosta
f: päivityksen jälkeen sopimuksen muutos vaatii muutossyyn valinnan
f: uudessa näkymässä sopimuksen muokkaus on harmaana
a: Missä tuotevaihto nyt tehdään?
a: Onko tähän tullut uusi ohje?
a: Mitä syykoodia käytetään?

@@ sopimuksen_paattaminen
s: sopimuksen lopetus ; päättäminen ; lopetus

@ sopimuksen_paattaminen | irtisanominen | G-022 | - | 1.8
s: Irtisanominen ; irtisanoo sopimuksen ; lopettaa sopimuksen
f: asiakas haluaa irtisanoa toistaiseksi voimassa olevan sopimuksensa
f: asiakas haluaa lopettaa sopimuksen {pvm}
f: asiakas ilmoitti, että ei enää tarvitse sopimusta ja haluaa sen päättymään
f: {nimi} haluaa sanoa sopimuksen irti, ei kerro syytä
f: asiakas vaatii, että sopimus päätetään heti eikä vasta irtisanomisajan jälkeen
f: P:irtisanoo sop., ei syytä
a: Mikä on irtisanomisaika?
a: Mistä päivästä sopimus päättyy, jos irtisanotaan tänään?
a: Tuleeko loppulasku automaattisesti?
a: Miten irtisanominen kirjataan järjestelmään?
c: Hei. Haluan irtisanoa sähkösopimukseni. Sopimusnumero {sopnro}. Terveisin {nimi}

@ sopimuksen_paattaminen | poismuutto | G-023 | - | 1.7
s: Poismuutto ; muuttaa pois ; päättymispäivä
f: asiakas muuttaa ulkomaille {pvm} eikä tarvitse enää sopimusta
f: asiakas muuttaa vanhempiensa luo ja vuokra-asunnon sopimus pitää päättää {pvm}
f: asiakas muuttaa pois osoitteesta {osoite}, uudessa asunnossa sähkö sisältyy vuokraan
f: poismuutto {pvm}, uuteen kohteeseen asiakas ei tee sopimusta meille
f: P:poismuutto {pvm}, ei uutta sopimusta
a: Mikä päivä laitetaan päättymispäiväksi?
a: Tarvitaanko mittarilukema?
a: Miten loppulasku lähtee?
a: Voiko sopimuksen päättää jo nyt, vaikka muutto on vasta {pvm}?
c: Muutan pois osoitteesta {osoite} {pvm}. Uudessa asunnossa sähkö kuuluu vuokraan, joten sopimus pitää lopettaa.

@ sopimuksen_paattaminen | muutto_vanha_auki | G-002 | - | 1.2
s: vanha sopimus vielä voimassa ; muutto, vanha kohde
f: asiakas muuttaa {pvm} ja uusi sopimus on jo tehty, mutta vanhan osoitteen sopimus on vielä voimassa
f: muuton yhteydessä unohtui päättää vanhan kohteen sopimus, uusi osoite on {osoite}
f: asiakas teki uuteen osoitteeseen sopimuksen verkossa ja kysyy, päättyykö vanha itsestään
a: Päättyykö vanha sopimus automaattisesti?
a: Miten vanha sopimus päätetään, kun uusi on jo olemassa?
a: Mikä päättymispäivä vanhalle kohteelle laitetaan?
a: Pitääkö nämä tehdä samalla kertaa?

@ sopimuksen_paattaminen | kuolinpesa | G-024 | - | 1.3
s: Kuolinpesä ; asiakas kuollut ; vainajan sopimus
f: asiakas on kuollut {pvm_men}, omainen {nimi2} otti yhteyttä
f: kuolinpesän yhteyshenkilö haluaa lopettaa vainajan sähkösopimuksen
f: asiakkaan leski haluaa päättää miehensä nimissä olleen sopimuksen
f: edesmenneen asiakkaan asunto tyhjennetään {pvm} mennessä ja sopimus pitää lopettaa
a: Tarvitaanko kuolintodistus?
a: Kuka kuolinpesästä voi päättää sopimuksen?
a: Miten sopimus päätetään kuolinpesän osalta?
a: Voiko sopimuksen siirtää kuolinpesän nimiin siksi aikaa?

@ sopimuksen_paattaminen | maaraaikainen_kesken | G-025 | - | 1.2
s: määräaikaisen päättäminen ; määräaikainen kesken ; purku
f: asiakkaalla on määräaikainen sopimus {pvm} asti, mutta hän haluaa lopettaa sen nyt
f: asiakas haluaa irti 24 kk kiinteästä, koska löysi halvemman
f: määräaikainen on kesken ja asiakas muuttaa pois {pvm}
f: asiakas haluaa purkaa määräaikaisen, koska ei ole tyytyväinen hintaan
a: Voiko määräaikaisen päättää kesken?
a: Tuleeko asiakkaalle korvausmaksu?
a: Miten ennenaikainen päättäminen kirjataan?
a: Paljonko päättämisestä pitää maksaa?

@ sopimuksen_paattaminen | vaihtaa_myyjaa | G-026 | - | 1.3
s: asiakas lähtee ; myyjänvaihto pois ; kilpailijalle
f: asiakas kertoi vaihtavansa toiselle myyjälle ({myyja})
f: asiakas on tehnyt sopimuksen kilpailijalle ja kysyy, pitääkö meidän sopimus irtisanoa erikseen
f: asiakas lähtee halvemman hinnan perässä toiselle yhtiölle
f: meille tuli asiakkaasta vaihtosanoma, asiakas kysyi mitä nyt tapahtuu
a: Pitääkö asiakkaan itse irtisanoa sopimus meiltä?
a: Voiko asiakkaalle tarjota jotain, että hän jäisi?
a: Miten toimitaan kun asiakas vaihtaa myyjää?
a: Hoitaako uusi myyjä irtisanomisen?

@ sopimuksen_paattaminen | irtisanomisen_peruminen | G-027 | - | 0.9
s: irtisanomisen peruminen ; peruu irtisanomisen
f: asiakas irtisanoi sopimuksen {pvm_men}, mutta on muuttanut mielensä
f: asiakkaan muutto peruuntui, ja sopimus on jo laitettu päättymään {pvm}
f: irtisanominen tehtiin vahingossa väärälle sopimukselle
a: Voiko irtisanomisen perua?
a: Miten päättyminen perutaan järjestelmässä?
a: Jatkuuko sopimus silloin entisellä hinnalla?
a: Pitääkö tehdä kokonaan uusi sopimus?

@ sopimuksen_paattaminen | peruutusoikeus | G-063 | - | 0.9
s: Peruutus ; peruutusoikeus ; 14 päivää
f: asiakas teki sopimuksen puhelinmyynnissä {pvm_men} ja haluaa nyt perua sen
f: asiakas katuu sopimusta, joka tehtiin ovimyynnissä viime viikolla
f: asiakas haluaa vetäytyä juuri tekemästään sopimuksesta
a: Onko asiakkaalla vielä peruutusoikeus?
a: Miten uusi sopimus perutaan 14 päivän sisällä?
a: Mistä päivästä peruutusaika lasketaan?
a: Mitä peruutuksen jälkeen tapahtuu vanhalle sopimukselle?

@ sopimuksen_paattaminen | talo_myyty | G-023 | - | 1.0
s: asunto myyty ; kaupat tehty
f: asiakas on myynyt asuntonsa, kaupat tehdään {pvm}
f: asiakkaan omakotitalo on myyty ja uusi omistaja tekee oman sopimuksen
f: asunnon luovutus uudelle omistajalle on {pvm}
a: Mikä päivä laitetaan sopimuksen päättymiseksi?
a: Tarvitaanko lukema luovutuspäivältä?
a: Miten sopimus lopetetaan?

@ sopimuksen_paattaminen | maaraaika_loppuu | - | - | 0.8
s: määräaika loppuu ; ei halua jatkaa
f: asiakkaan määräaikainen päättyy {pvm}, eikä hän halua jatkaa meillä
f: asiakas ei halua sopimuksen jatkuvan määräajan jälkeen millään tuotteella
f: määräaikainen sopimus loppuu kuun lopussa ja asiakas haluaa, että sopimus päättyy silloin kokonaan
a: Pitääkö päättymisestä ilmoittaa erikseen?
a: Miten estetään, ettei sopimus jatku?
a: Riittääkö että asiakas ilmoittaa nyt?

@ sopimuksen_paattaminen | vuokranantaja | - | - | 0.7
s: vuokralainen häipyi ; vuokranantaja
f: vuokranantaja kertoo, että vuokralainen muutti pois ilmoittamatta eikä vastaa puhelimeen
f: vuokranantaja haluaa päättää entisen vuokralaisen sähkösopimuksen
f: isännöitsijä ilmoittaa, että asukas on häädetty
a: Voiko sopimuksen päättää vuokranantajan ilmoituksella?
a: Miten tällaisessa tapauksessa toimitaan?
a: Kuka voi päättää sopimuksen, kun asiakasta ei tavoiteta?

@ sopimuksen_paattaminen | mokki_talveksi | - | - | 0.7
s: mökin sopimus talveksi ; kausikäyttö
f: asiakas haluaa lopettaa mökin sopimuksen talveksi ja tehdä uuden keväällä
f: asiakas kysyy, voiko kesämökin sopimuksen päättää syksyllä ja aloittaa toukokuussa
f: mökki on talvella kylmillään ja asiakas ei halua maksaa perusmaksua
a: Kannattaako sopimus päättää vai onko parempi vaihtoehto?
a: Onko tällaiseen käytäntöä?
a: Miten tämä tehdään?

@ sopimuksen_paattaminen | yritys_lopettaa | - | - | 0.7
s: yritys lopettaa ; konkurssi
f: pk-asiakkaan ({yritys}) toiminta loppuu {pvm}
f: yritys on mennyt konkurssiin ja pesänhoitaja ottaa yhteyttä sopimuksesta
f: toiminimi lopetetaan ja liiketila tyhjennetään {pvm} mennessä
a: Miten yrityksen sopimus päätetään?
a: Kuka voi irtisanoa sopimuksen konkurssipesän puolesta?
a: Onko yrityssopimuksilla eri irtisanomisaika?

@@ vahvistuksen_uudelleenlahetys
a: Voiko vahvistuksen lähettää uudelleen?
a: E:Voisitteko lähettää vahvistuksen uudestaan?
a: E:Saisiko asiakkaalle uuden vahvistuksen?
a: E:Pyytäisin lähettämään vahvistuksen vielä kerran.
a: P:pyysi lähettämään uuden vahvistuksen
a: P:pyysi kopion vahvistuksesta
a: Kauanko uuden vahvistuksen saaminen kestää?
s: vahvistus ; sopimusvahvistus ; vahvistus uudelleen ; kopio vahvistuksesta

@ vahvistuksen_uudelleenlahetys | ei_tullut | G-057 | - | 2.0
f: asiakas ei ole saanut sopimusvahvistusta, vaikka sopimus tehtiin {pvm_men}
f: asiakkaalle ei ole tullut vahvistusta postissa
f: vahvistuskirje ei ole tullut perille kahden viikon jälkeenkään
f: asiakas odottaa yhä vahvistusta uudesta sopimuksestaan
f: P:vahvistus ei tullut as:lle
a: E:Voitteko postittaa sen vielä?
a: Voiko vahvistuksen tulostaa ja postittaa uudestaan?
c: Hei, tein sopimuksen {pvm_men}, mutta en ole saanut mitään vahvistusta. Onko sopimus varmasti voimassa? {nimi}

@ vahvistuksen_uudelleenlahetys | sahkopostiin | G-057 | - | 1.3
f: asiakas haluaa sopimusvahvistuksen sähköpostiin osoitteeseen {email}
f: asiakas ei tarvitse paperikirjettä, vahvistus sähköpostilla riittää: {email}
f: vahvistus pitäisi saada sähköisesti, asiakkaan sähköposti on {email}
a: Voiko vahvistuksen lähettää sähköpostilla?
a: E:Voisitteko laittaa vahvistuksen tähän osoitteeseen?

@ vahvistuksen_uudelleenlahetys | vaara_osoite | G-057 | - | 1.2
f: sopimusvahvistus lähti vanhaan osoitteeseen, vaikka asiakas on muuttanut osoitteeseen {osoite}
f: vahvistus on mennyt väärään osoitteeseen, oikea on {osoite}
f: asiakkaan vahvistus palautui postista
a: E:Voisitteko lähettää sen oikeaan osoitteeseen?
a: Lähteekö uusi vahvistus automaattisesti oikeaan osoitteeseen?

@ vahvistuksen_uudelleenlahetys | hukannut | G-057 | - | 1.0
f: asiakas on hukannut sopimusvahvistuksensa
f: asiakas heitti vahvistuksen vahingossa pois
f: asiakas ei löydä vahvistusta mistään ja tarvitsisi sen
f: vahvistus jäi asiakkaalta vanhaan asuntoon muuton yhteydessä
a: E:Saako siitä uuden kappaleen?

@ vahvistuksen_uudelleenlahetys | vuokranantaja | G-057 | - | 1.0
f: asiakkaan vuokranantaja haluaa nähdä sähkösopimuksen vahvistuksen ennen avainten luovutusta
f: isännöitsijä pyytää todistusta siitä, että sähkösopimus on tehty
f: asiakas tarvitsee vahvistuksen vuokrasopimusta varten
a: E:Voisitteko lähettää vahvistuksen asiakkaalle mahdollisimman pian?

@ vahvistuksen_uudelleenlahetys | tuotevaihto | G-057 | - | 1.0
f: asiakas vaihtoi tuotteeseen {tuote}, mutta ei saanut vahvistusta tuotevaihdosta
f: tuotevaihdosta ei ole tullut asiakkaalle kirjettä
f: asiakas haluaa kirjallisen vahvistuksen siitä, että tuote on nyt {tuote}
a: E:Voitteko lähettää vahvistuksen tuotevaihdosta?

@ vahvistuksen_uudelleenlahetys | ruotsiksi | G-057 | - | 0.8
f: asiakas on ruotsinkielinen ja haluaa vahvistuksen ruotsiksi
f: vahvistus lähti suomeksi, mutta asiakkaan asiointikieli on ruotsi
a: E:Voisitteko lähettää vahvistuksen ruotsinkielisenä?
c: Hej, jag har inte fått bekräftelsen på svenska. Kan ni skicka den igen? Mvh {nimi}

@ vahvistuksen_uudelleenlahetys | kuolinpesa | G-057 | - | 0.7
f: kuolinpesän yhteyshenkilö {nimi2} tarvitsee kopion vainajan sopimuksen vahvistuksesta
f: perikunta pyytää vahvistusta kuolinpesän nimiin siirretystä sopimuksesta
a: E:Voitteko lähettää vahvistuksen kuolinpesän yhteyshenkilölle?

@ vahvistuksen_uudelleenlahetys | yritys | G-057 | - | 0.8
f: yritysasiakas {yritys} tarvitsee vahvistuksen kirjanpitoa varten
f: pk-asiakkaan vahvistus pitäisi lähettää kirjanpitäjälle osoitteeseen {email}
a: E:Voitteko lähettää vahvistuksen kirjanpitäjälle?

@ vahvistuksen_uudelleenlahetys | paattymisvahvistus | G-057 | - | 1.0
f: asiakas haluaa vahvistuksen siitä, että sopimus on päättynyt {pvm_men}
f: asiakas ei saanut irtisanomisvahvistusta ja haluaa sen kirjallisena
f: asiakas tarvitsee päättymisvahvistuksen uutta vuokranantajaa varten
a: E:Voisitteko lähettää päättymisestä vahvistuksen?

@ vahvistuksen_uudelleenlahetys | sosiaalitoimi | G-057 | - | 0.7
f: asiakas tarvitsee sopimusvahvistuksen sosiaalitoimistoon toimeentulotukihakemusta varten
f: Kela pyytää asiakkaalta sähkösopimuksen vahvistusta
a: E:Saisiko asiakas vahvistuksen pian, hakemus on kesken?

@ vahvistuksen_uudelleenlahetys | edunvalvoja | G-057 | - | 0.7
f: asiakkaan edunvalvoja {nimi2} pyytää kopion sopimusvahvistuksesta
f: edunvalvojalle pitäisi saada vahvistus, edunvalvontapäätös on jo toimitettu meille
a: E:Voitteko postittaa vahvistuksen edunvalvojalle?

@ vahvistuksen_uudelleenlahetys | roskaposti | G-057 | - | 0.8
f: vahvistus meni asiakkaan roskapostiin ja poistui, pitäisi saada uusi
f: asiakkaan sähköpostiin ei tullut vahvistusta, roskapostikin on tarkistettu
a: E:Voisitteko lähettää sen vielä kerran sähköpostiin?

@ vahvistuksen_uudelleenlahetys | muutto_vahvistus | G-057 | - | 1.0
f: asiakas muutti {pvm_men} ja teki sopimuksen uuteen osoitteeseen, vahvistusta ei ole kuulunut
f: uuden osoitteen sopimuksesta ei tullut vahvistusta, vaikka muutto oli jo
f: muuton yhteydessä tehdystä sopimuksesta puuttuu vahvistus
a: E:Voitteko lähettää vahvistuksen uuteen osoitteeseen?

@@ ohjeistus
s: kysymys ; ohje? ; miten toimitaan

@ ohjeistus | tunnistaminen_puhelin | G-028 | - | 1.2
s: tunnistaminen ; soittajan tunnistus
f: soittaja ei muista henkilötunnustaan, mutta tietää osoitteen ja asiakasnumeron
f: soittaja esittäytyy asiakkaaksi, mutta tiedot eivät täsmää täysin
f: asiakas ei halua kertoa henkilötunnustaan puhelimessa
a: Mitä tietoja soittajalta pitää kysyä, että hänet voi tunnistaa?
a: Riittääkö nimi ja osoite tunnistamiseen?
a: E:Voinko hoitaa asian, vaikka hetu puuttuu?

@ ohjeistus | tunnistaminen_email | G-028 | - | 1.0
s: sähköpostipyyntö ; tunnistus sähköpostissa
f: asiakas lähetti sähköpostilla pyynnön muuttaa sopimusta, mutta viestissä ei ole henkilötunnusta
f: E:meille tulee asiakkailta sähköposteja, joissa on vain nimi ja osoite
f: asiakas haluaa hoitaa kaiken sähköpostilla eikä halua soittaa
a: Miten sähköpostilla asioiva tunnistetaan?
a: Voiko sähköpostipyyntöön vastata ilman tunnistamista?
a: Pitääkö asiakkaalle soittaa takaisin tunnistamista varten?

@ ohjeistus | valtakirja | G-029 | - | 1.3
s: valtakirja ; toisen puolesta
f: asiakkaan puolesta soittaa naapuri, jolla on valtakirja
f: tytär hoitaa iäkkään äitinsä asioita ja lähetti valtakirjan kuvana
f: asiakkaan poika haluaa tehdä muutoksia sopimukseen äidin puolesta
a: Mitä valtakirjassa pitää lukea?
a: Kelpaako valtakirja kuvana sähköpostilla?
a: Mihin valtakirja tallennetaan?
a: Tarvitaanko tässä valtakirja?

@ ohjeistus | puoliso | G-029 | - | 1.0
s: puoliso soittaa ; vaimo asioi
f: asiakkaan vaimo soittaa miehensä sopimuksesta
f: avomies haluaa hoitaa puolisonsa sopimusasiaa
f: puoliso kysyy tietoja sopimuksesta, joka on toisen nimissä
a: Saako puolison kanssa asioida ilman valtakirjaa?
a: Mitä tietoja puolisolle voi kertoa?
a: Riittääkö suullinen lupa?

@ ohjeistus | edunvalvonta | G-030 | - | 1.0
s: edunvalvonta ; edunvalvoja
f: asiakkaalla on edunvalvoja ja nyt soittaa asiakas itse
f: edunvalvoja {nimi2} ilmoittaa hoitavansa asiakkaan asiat jatkossa
f: maistraatin päätös edunvalvonnasta tuli meille sähköpostilla
a: Kenen kanssa asioidaan, asiakkaan vai edunvalvojan?
a: Miten edunvalvonta merkitään järjestelmään?
a: Voiko asiakas itse tehdä muutoksia?

@ ohjeistus | turvakielto | G-030 | - | 0.9
s: turvakielto ; salainen osoite
f: asiakkaalla on turvakielto ja hän muuttaa
f: järjestelmässä näkyy turvakieltomerkintä, eikä osoitetta näy
f: turvakieltoasiakas haluaa uuden sopimuksen
a: Miten turvakieltoasiakkaan asiat hoidetaan?
a: Mihin osoitteeseen kirjeet lähetetään?
a: Saako tällaista asiakasta palvella normaalisti?

@ ohjeistus | viranomainen | G-031 | - | 0.9
s: tietopyyntö ; poliisi kysyy
f: poliisi kysyy puhelimessa asiakkaan yhteystietoja
f: ulosottovirasto pyytää tietoja asiakkaan sopimuksesta
f: perintätoimisto soitti ja halusi asiakkaan uuden osoitteen
a: Saako näitä tietoja luovuttaa?
a: Miten viranomaisen tietopyyntöön vastataan?
a: Kenelle tällaiset pyynnöt ohjataan?

@ ohjeistus | kolmas_osapuoli | G-031 | - | 1.0
s: tietojen luovutus ; isännöitsijä kysyy
f: isännöitsijä kysyy, kuka asuu asunnossa {osoite} ja onko siellä sähkösopimus
f: vuokranantaja haluaa tietää, onko vuokralainen tehnyt sähkösopimuksen
f: uusi asukas kysyy, kuka asunnossa asui ennen häntä
a: Voiko tätä kertoa?
a: Mitä tietoja kolmannelle osapuolelle saa antaa?
a: Miten tähän pitäisi vastata?

@ ohjeistus | kanava | G-032 | - | 0.9
s: soitto vai sähköposti ; asiointikanava
f: asiakas lähettää samasta asiasta sekä sähköpostia että soittaa
f: asiakas haluaa vastauksen kirjallisena eikä puhelimessa
f: E:en ole varma, soitanko asiakkaalle vai vastaanko sähköpostiin
a: Kumpaa kanavaa tässä pitäisi käyttää?
a: Milloin asiakkaalle soitetaan takaisin?
a: Mikä on sähköpostien vastausaika?

@ ohjeistus | sahkopostit | G-032 | - | 0.8
s: sähköpostijono ; asiakkaiden viestit
f: asiakkaiden sähköposteja on kertynyt jonoon satoja
f: asiakas on lähettänyt saman viestin viisi kertaa
f: asiakkaan sähköposti tuli väärään postilaatikkoon
a: Missä järjestyksessä sähköpostit käsitellään?
a: Vastataanko jokaiseen erikseen?
a: Miten tällaiset viestit käsitellään?

@ ohjeistus | ruotsi | G-033 | - | 0.8
s: ruotsinkielinen asiakas ; på svenska
f: ruotsinkielinen asiakas soitti, enkä osaa ruotsia kunnolla
f: asiakas kirjoitti meille ruotsiksi
f: asiakas haluaa asioida ruotsiksi
a: Kuka voi auttaa ruotsinkielisessä asioinnissa?
a: Onko ruotsinkielisiä vastauspohjia?
a: Miten tällaisessa tilanteessa toimitaan?

@ ohjeistus | englanti | G-033 | - | 0.8
s: englanninkielinen asiakas ; in English
f: asiakas ei puhu suomea, vain englantia
f: englanninkielinen asiakas haluaa tietoa sopimuksesta englanniksi
f: vaihto-opiskelija kirjoitti englanniksi ja kysyy sähkösopimuksesta
a: Onko englanninkielisiä pohjia?
a: Kuka osaa auttaa englanniksi?
a: Saako englanniksi vastata vai pitääkö ohjata jonnekin?

@ ohjeistus | ohjeen_paikka | G-034 | - | 1.1
s: ohjeen paikka ; intra ; sharepoint haku
f: E:en löydä intrasta ohjetta muuttoilmoituksista
f: Sharepointin haku antaa satoja osumia, eikä hinnastoa löydy
f: viikkotiedote piti tulla eilen, mutta sitä ei löydy
a: Missä ohje on?
a: Mistä kansiosta tämän löytää?
a: Onko hakuun joku vinkki?

@ ohjeistus | tukipyynto_tiedot | G-035 | - | 0.9
s: tukipyynnöt ; mitä tietoja teille?
f: E:en ole varma, mitkä tiedot teille pitää laittaa, kun lähetän asian käsiteltäväksi
f: E:kollegat lähettävät teille kaiken sähköpostilla ja minä soitan
f: tiimissä ei olla varmoja, mitkä asiat kuuluvat sopimustiimille
a: Mitä tietoja tukipyyntöön pitää liittää?
a: Milloin soitetaan ja milloin laitetaan sähköpostia?
a: Mitkä asiat kuuluvat teille?

@ ohjeistus | perehdytys | G-060 | - | 0.8
s: perehdytys ; uusi työntekijä
f: E:aloitin juuri enkä ole saanut perehdytystä kaikkiin järjestelmiin
f: uusi työntekijä kysyy, mitä järjestelmiä hänen pitää osata
f: perehdytysmateriaalissa mainitaan ohjeita, joita ei löydy
a: Onko jossain perehdytysmateriaalia?
a: Mistä pääsee alkuun?
a: Kuka meillä perehdyttää?

@ ohjeistus | sopimusehdot_missa | G-018 | - | 0.8
s: yleiset sopimusehdot ; ehdot asiakkaalle
f: asiakas haluaa yleiset sopimusehdot postitse
f: asiakas haluaa sopimusehdot, eikä niitä löydy järjestelmästä
f: E:en löydä voimassa olevia sopimusehtoja
a: Missä sopimusehdot ovat?
a: Voiko ehdot lähettää asiakkaalle?
a: Mistä löytyy uusin versio?

@ ohjeistus | kuolinpesa_asiointi | G-024 | - | 0.8
s: kuolinpesä asioi ; omainen soittaa
f: kuolinpesän osakas soittaa ja haluaa tietoja vainajan sopimuksesta
f: perunkirjoitusta varten pyydetään tietoja kuolleen asiakkaan sopimuksista
f: vainajan sisar soittaa ja kysyy, onko veljellä ollut sopimuksia meillä
a: Kenelle kuolinpesän asioista saa kertoa?
a: Tarvitaanko kuolinpesältä jotain asiakirjaa?
a: Mitä tietoja voi antaa?

@ ohjeistus | nauhoite | - | - | 0.7
s: puhelutallenne ; nauhoite
f: asiakas haluaa kuulla tallenteen puhelusta, jossa sopimus tehtiin
f: asiakas pyytää kopiota puhelutallenteesta
f: asiakkaan asianajaja pyytää puhelun nauhoitetta
a: Voiko tallenteen antaa asiakkaalle?
a: Kuka nämä tallenteet hakee?
a: Miten tällaiseen pyyntöön vastataan?

@ ohjeistus | asiaton | - | - | 0.7
s: asiaton asiakas ; uhkaileva soittaja
f: asiakas oli puhelimessa todella asiaton ja uhkaili
f: asiakas kiroili ja uhkasi julkaista keskustelun somessa
f: sama asiakas soittaa päivittäin ja haukkuu palveluneuvojia
a: Miten tällaisissa tilanteissa toimitaan?
a: Saako puhelun katkaista?
a: Kirjataanko tämä jonnekin?

@ ohjeistus | tulkki | - | - | 0.6
s: tulkkipuhelu ; viittomakieli
f: kuuro asiakas asioi tulkin välityksellä
f: asiakkaan puolesta soittaa tulkkipalvelu
f: asiakas haluaa asioida viittomakielen tulkin kautta
a: Saako tulkin kanssa asioida normaalisti?
a: Miten tunnistaminen hoidetaan tulkkipuhelussa?
a: Onko tähän jotain käytäntöä?

@@ sahkoiset_palvelut
s: verkkopalvelu ; Oma sivu ; kirjautuminen

@ sahkoiset_palvelut | salasana | G-036 | - | 1.6
s: salasana ; tunnukset lukossa
f: asiakas on unohtanut verkkopalvelun salasanan
f: salasanan palautusviesti ei tule asiakkaalle
f: asiakkaan tunnukset ovat lukkiutuneet liian monen yrityksen jälkeen
f: P:as. ei pääse verkkopalveluun, salasana hukassa
a: Miten salasana nollataan?
a: Voiko tunnukset avata täältä?
a: Saako asiakas uuden salasanan sähköpostiin?
c: Hei, en pääse kirjautumaan Oma sivu -palveluun, salasana ei kelpaa ja palautuslinkkiä ei tule. {nimi}

@ sahkoiset_palvelut | rekisteroityminen | G-036 | - | 1.3
s: rekisteröityminen ; tunnusten luonti
f: asiakas yrittää rekisteröityä verkkopalveluun, mutta asiakasnumero ei kelpaa
f: rekisteröinnissä pyydetään sopimusnumeroa, jota asiakas ei löydä
f: uusi asiakas ei pääse luomaan tunnuksia, vaikka sopimus on tehty {pvm_men}
a: Mistä asiakas löytää tarvittavat tiedot rekisteröitymiseen?
a: Kuinka pian sopimuksen jälkeen rekisteröinti onnistuu?
a: Miksi numero ei kelpaa?

@ sahkoiset_palvelut | pankkitunnukset | G-036 | - | 1.0
s: pankkitunnukset ; vahva tunnistus
f: pankkitunnuksilla kirjautuminen ei onnistu asiakkaalta
f: asiakkaan pankki ei ole listalla kirjautumissivulla
f: asiakas ei halua käyttää pankkitunnuksia kirjautumiseen
a: Voiko kirjautua ilman pankkitunnuksia?
a: Mitkä pankit käyvät?
a: Onko tähän muuta keinoa?

@ sahkoiset_palvelut | kulutustiedot_puuttuu | G-037 | - | 1.3
s: kulutustiedot puuttuu ; raportointi ei näytä
f: kulutusraportoinnissa ei näy tietoja viimeiseen kahteen viikkoon
f: asiakkaan kulutustiedot puuttuvat palvelusta kokonaan
f: raportointipalvelussa näkyy vain kuukausitasoinen kulutus, ei tunteja
a: Miksi tiedot puuttuvat?
a: Milloin tiedot päivittyvät?
a: Onko tämä vika vai normaalia?

@ sahkoiset_palvelut | tuntitiedot | G-037 | - | 1.0
s: tuntitiedot ; kulutusraportti
f: uusi asiakas kysyy, milloin hänen kulutuksensa alkaa näkyä verkkopalvelussa
f: asiakas haluaa seurata tuntikulutusta verkossa
f: asiakas kysyy, voiko kulutustiedot ladata Exceliin
a: Kauanko kestää, että tiedot näkyvät?
a: Mistä tuntikulutuksen näkee?
a: Onko raportointipalvelussa tällaista toimintoa?

@ sahkoiset_palvelut | virhekoodi | G-038 | - | 1.2
s: virhe verkkopalvelussa ; sivu ei aukea
f: verkkopalvelu antaa asiakkaalle virheen {vpvirhe}
f: sivu jää latautumaan kirjautumisen jälkeen
f: asiakkaan selaimessa verkkopalvelu näkyy tyhjänä
a: Mitä tämä virhe tarkoittaa?
a: Onko verkkopalvelussa nyt vikaa?
a: Milloin tämä pitää ilmoittaa IT:lle?

@ sahkoiset_palvelut | tiedot_ei_nay | G-038 | - | 1.0
s: sopimus ei näy palvelussa ; laskut ei näy verkossa
f: verkkopalvelussa ei näy asiakkaan sopimusta ollenkaan
f: laskut eivät näy verkkopalvelussa, vaikka asiakas on kirjautunut sisään
f: asiakkaan uusi sopimus ei näy palvelussa
a: Mistä tämä johtuu?
a: Pitääkö asiakkaan tehdä jotain?
a: Korjautuuko tämä itsestään?

@ sahkoiset_palvelut | elasku | G-039 | - | 0.9
s: e-lasku verkkopalvelussa ; suoramaksu
f: asiakas haluaa tilata e-laskun verkkopalvelun kautta, mutta ei löydä kohtaa
f: suoramaksun tilaus verkkopalvelussa ei onnistu
f: asiakas kysyy, voiko e-laskun tilata meidän verkkopalvelusta
a: Mistä kohtaa palvelua tilaus tehdään?
a: Onnistuuko tämä verkkopalvelussa?
a: Miten asiakasta neuvotaan?

@ sahkoiset_palvelut | tilin_poisto | G-040 | - | 0.8
s: käyttäjätilin poisto ; tunnukset pois
f: asiakas haluaa poistaa verkkopalvelun käyttäjätilinsä
f: asiakas on lopettanut sopimuksen ja haluaa tunnuksetkin pois
f: asiakas ei enää käytä verkkopalvelua ja haluaa tietonsa sieltä pois
a: Miten tili poistetaan?
a: Voiko asiakas poistaa tilin itse?
a: Poistuuko tili automaattisesti sopimuksen päättyessä?

@ sahkoiset_palvelut | tilien_yhdistaminen | G-040 | - | 0.9
s: kaksi käyttäjätiliä ; tilien yhdistäminen
f: asiakkaalla on kaksi käyttäjätiliä, toinen mökille ja toinen kotiin
f: asiakas haluaa nähdä kaikki käyttöpaikkansa yhdellä tunnuksella
f: muuton jälkeen asiakkaalle syntyi uusi tili vanhan rinnalle
a: Voiko tilit yhdistää?
a: Saako useamman käyttöpaikan samalle tilille?
a: Miten tämä tehdään?

@ sahkoiset_palvelut | sovellus | - | - | 0.7
s: mobiilisovellus ; appi
f: asiakas kysyy, onko meillä mobiilisovellusta
f: asiakas haluaisi seurata kulutusta puhelimella sovelluksen kautta
f: asiakas kysyy, milloin verkkopalvelu toimii kunnolla tabletilla
a: Onko tällaista tulossa?
a: Mitä asiakkaalle voi kertoa?
a: Tiedättekö tästä mitään?

@ sahkoiset_palvelut | edellinen_asukas | - | - | 0.7
s: väärät tiedot verkkopalvelussa ; toisen tiedot näkyy
f: asiakas näkee verkkopalvelussa edellisen asukkaan kulutustiedot
f: verkkopalvelussa näkyy asiakkaalle toisen henkilön nimi
f: kirjautumisen jälkeen asiakas näki jonkun muun osoitteen
a: Miten tämä on mahdollista?
a: Mitä tässä tehdään?
a: Kenelle tästä pitää ilmoittaa?

@ sahkoiset_palvelut | kuolinpesa_tunnukset | - | - | 0.6
s: vainajan tunnukset ; kuolinpesä verkkopalveluun
f: kuolinpesä haluaa päästä vainajan verkkopalveluun katsomaan laskuja
f: omainen pyytää tunnuksia edesmenneen asiakkaan verkkopalveluun
a: Voiko kuolinpesälle antaa pääsyn?
a: Miten tämä hoidetaan?
a: Onko tähän joku käytäntö?

@ sahkoiset_palvelut | uutiskirje | - | - | 0.6
s: uutiskirje ; tiedotteet sähköpostiin
f: asiakas ei pääse perumaan verkkopalvelun uutiskirjettä
f: verkkopalvelun tiedotteet tulevat asiakkaalle kahteen kertaan
a: Mistä tilauksen saa pois?
a: Voiko tämän perua täältä?
a: Miksi viestit tulevat tuplana?

@@ reklamaatio
a: Voitteko ottaa tämän käsittelyyn?
a: Kuka tästä päättää?
a: Mitä asiakkaalle voi luvata?
a: E:Miten tämä etenee?
a: Asiakas odottaa yhteydenottoa.
a: Asiakas haluaa vastauksen kirjallisena.
s: Reklamaatio ; valitus ; tyytymätön asiakas ; asiakas vihainen

@ reklamaatio | vaara_tuote | G-058 | - | 1.3
f: asiakkaan mukaan sopimukselle on laitettu väärä tuote ({tuote}), vaikka hän tilasi {tuote2}
f: asiakkaan sopimus tehtiin väärällä tuotteella ja asiakas on tosi vihainen
f: sopimuksella on {tuote}, vaikka asiakkaalle luvattiin {tuote2}
a: Asiakas vaatii, että tuote korjataan takautuvasti ja erotus hyvitetään.
a: Asiakas haluaa, että virhe korjataan ja hinnaneroa hyvitetään.
c: Olen saanut laskun tuotteesta {tuote}, vaikka tilasin {tuote2}. Vaadin korjausta ja rahojani takaisin. {nimi}

@ reklamaatio | vaara_aloitus | G-058 | - | 1.1
f: asiakkaan sopimus aloitettiin väärästä päivästä, ja hän sai laskun ajalta ennen muuttoa
f: sopimukseen kirjattiin aloituspäiväksi {pvm_men}, vaikka asiakas muutti vasta kuukautta myöhemmin
a: Asiakas vaatii, että päivä korjataan ja liikaa laskutettu hyvitetään.
a: Asiakkaan mielestä meidän pitää hyvittää koko kuukausi.

@ reklamaatio | vahvistukset | G-058 | - | 1.0
f: asiakas on pyytänyt vahvistusta kolme kertaa eikä ole saanut sitä
f: asiakas on kiukkuinen, kun vahvistuksia ei ole tullut kuukauteen
a: Asiakas vaatii korvausta vaivanpalkasta.
a: Asiakas haluaa hyvityksen ja anteeksipyynnön.

@ reklamaatio | puhelinmyynti | G-058 | - | 1.1
f: asiakkaan mukaan puhelinmyyjä johdatteli häntä ja sopimus tehtiin ilman selkeää suostumusta
f: asiakas on tyytymätön myyjän käytökseen puhelimessa
f: asiakkaan iäkäs äiti oli saanut myyntipuhelun ja sopimus oli tehty painostamalla
a: Asiakas haluaa sopimuksen purettavaksi ja kirjallisen anteeksipyynnön.
a: Asiakas edellyttää, että asia selvitetään ja myyjää ohjeistetaan.
c: Teidän myyjänne soitti äidilleni ja painosti tekemään sopimuksen. Vaadin että sopimus puretaan heti ja haluan selityksen. {nimi}

@ reklamaatio | kampanjaetu | G-058 | - | 1.0
f: asiakkaalle luvattu kampanjaetu ei ole näkynyt laskuilla
f: asiakas liittyi kampanjalla, mutta sopimukselle ei kirjattu alennusta
a: Asiakas vaatii kampanjaedun hyvitettäväksi takautuvasti.
a: Asiakas haluaa korjauksen ja rahat takaisin.

@ reklamaatio | takaisinsoitto | G-058 | - | 0.9
f: asiakkaalle luvattiin soittaa takaisin jo viikko sitten, eikä kukaan ole soittanut
f: asiakas on odottanut vastausta sähköpostiinsa kolme viikkoa
a: Asiakas vaatii anteeksipyyntöä ja haluaa, että joku esimiestasolta soittaa hänelle.
a: Asiakas haluaa tehdä virallisen valituksen palvelusta.

@ reklamaatio | kaksi_sopimusta | G-058 | - | 1.0
f: asiakkaan irtisanominen jäi meillä tekemättä ja nyt hänellä on kaksi voimassa olevaa sopimusta
f: asiakkaan vanha sopimus ei päättynyt muutossa, ja perusmaksuja on mennyt kahdesta kohteesta
a: Asiakas vaatii hyvitystä maksamistaan perusmaksuista.
a: Asiakas vaatii korjausta ja korvausta turhista maksuista.

@ reklamaatio | nimi_vaarin | G-058 | - | 0.8
f: asiakkaan nimi on kirjoitettu väärin kaikkiin papereihin, vaikka hän on ilmoittanut siitä kahdesti
f: sopimuksella on väärä henkilötunnus ja asiakas on huolissaan tietosuojasta
a: Asiakas vaatii korjausta heti.
a: Asiakas haluaa, että virhe korjataan ja korjaus vahvistetaan hänelle kirjallisesti.

@ reklamaatio | markkinointikielto | G-058 | - | 0.8
f: asiakas on kieltänyt markkinoinnin, mutta hänelle soitettiin taas myyntipuhelu
f: asiakas sai mainospostia, vaikka markkinointikielto on ollut voimassa vuoden
a: Asiakas vaatii, että soitot loppuvat, ja haluaa anteeksipyynnön.
a: Asiakas uhkaa viedä asian kuluttajaneuvontaan, ellei asiaa korjata.

@ reklamaatio | ilman_lupaa | G-058 | - | 0.9
f: asiakkaalle tuli sopimusvahvistus sopimuksesta, jota hän ei ole tehnyt
f: asiakas väittää, että hänen nimiinsä on tehty sopimus ilman lupaa
a: Asiakas vaatii sopimuksen mitätöintiä ja selvitystä siitä, miten näin pääsi käymään.
a: Asiakas haluaa, että sopimus perutaan ja hänelle pyydetään anteeksi.

@ reklamaatio | hinta_eri | G-058 | - | 1.0
f: asiakkaalle luvattiin myynnissä hinta {hinta}, mutta sopimuksella on korkeampi
f: myyjä lupasi kiinteän hinnan, mutta sopimus tehtiin perussähkönä
a: Asiakas vaatii luvattua hintaa koko sopimuskaudelle.
a: Asiakas haluaa hinnan korjattavaksi alusta alkaen.

@ reklamaatio | edellisen_asukkaan | G-058 | - | 0.8
f: muuttopäivä kirjattiin meillä väärin ja asiakas on maksanut edellisen asukkaan sähköt kahdelta viikolta
f: asiakkaan sopimus alkoi meidän virheen takia ennen muuttoa, ja hän maksoi edellisen asukkaan kulutuksen
a: Asiakas vaatii hyvitystä.
a: Asiakas haluaa rahansa takaisin ja anteeksipyynnön.

@ reklamaatio | yritys_kuluttajahinta | G-058 | - | 0.7
f: yritysasiakkaan ({yritys}) sopimus tehtiin kuluttajatuotteena ja hinnat ovat väärin
f: pk-asiakkaan sopimus kirjattiin meillä väärälle y-tunnukselle
a: Yritys vaatii korjausta ja hyvitystä.
a: Yrittäjä haluaa virheen korjattavaksi ja kirjallisen selvityksen.

@@ selvityspyynto
a: Voisitteko selvittää?
a: Mitä tässä on tapahtunut?
s: selvityspyyntö ; Selvitys ; outo tilanne ; voitteko katsoa

@ selvityspyynto | ei_kaynnistynyt | G-059 | - | 1.7
f: asiakkaan sopimus piti alkaa {pvm_men}, mutta järjestelmässä se on yhä tilassa odottaa
f: sopimus ei ole käynnistynyt, vaikka aloituspäivä oli jo kaksi viikkoa sitten
f: asiakas teki sopimuksen muuton yhteydessä, mutta sopimus ei ole lähtenyt käyntiin
f: P:sopimus ei käynnistynyt, aloitus oli {pvm_men}
f: asiakas vaatii saada tietää, miksi sopimus ei ole vielä alkanut
a: Miksi sopimus ei ole alkanut?
a: Mistä jumi johtuu?

@ selvityspyynto | vaihto_hylatty | G-059 | - | 1.4
f: myyjänvaihto hylättiin, syynä "käyttöpaikkaa ei löydy"
f: asiakkaan vaihto meille on hylätty kahdesti
f: vaihtosanomaan tuli hylkäys vanhalta myyjältä ({myyja})
a: Miksi vaihto hylättiin?
a: Pitääkö vaihto tehdä uudelleen?

@ selvityspyynto | paallekkaiset | G-059 | - | 1.3
f: asiakkaalla näkyy kaksi voimassa olevaa sopimusta samalle käyttöpaikalle
f: samalle käyttöpaikalle on tehty sopimus kahteen kertaan
f: järjestelmässä on päällekkäiset sopimukset {pvm_men} alkaen
a: Kumpi sopimuksista on oikea?
a: E:Voitteko poistaa ylimääräisen?

@ selvityspyynto | ristiriita | G-059 | - | 1.2
f: CRM:ssä sopimus on päättynyt, mutta laskutusjärjestelmässä se on yhä voimassa
f: tuote on CRM:ssä eri kuin laskutuksessa
f: asiakkaan osoite on eri kahdessa järjestelmässä
a: Kumpi tieto pitää paikkansa?
a: Mistä ero johtuu?

@ selvityspyynto | kp_ristiriita | G-059 | - | 1.0
f: käyttöpaikkatunnus on sopimuksella eri kuin verkkoyhtiön tiedoissa
f: sopimuksen käyttöpaikka {kp} ei täsmää asiakkaan laskussa olevaan
a: Kumpi tunnus on oikea?
a: Pitääkö sopimus korjata?

@ selvityspyynto | ei_aktiivinen | G-059 | - | 0.9
f: asiakas ei ole saanut ensimmäistä laskua, ja järjestelmässä sopimus ei näy aktiivisena
f: sopimus tehtiin {pvm_men}, mutta tila on edelleen "keskeneräinen"
a: Onko sopimus voimassa vai ei?

@ selvityspyynto | vanha_myyja | G-059 | - | 1.0
f: asiakas saa edelleen laskuja vanhalta myyjältä, vaikka siirtyi meille {pvm_men}
f: vanha myyjä ({myyja}) laskuttaa asiakasta yhä, vaikka meidän sopimus on voimassa
a: Onko vaihto mennyt läpi?

@ selvityspyynto | muutto_ei_nay | G-059 | - | 0.9
f: asiakkaan muutto ei näy verkkoyhtiön puolella, ja vanha asukas on yhä kirjattuna
f: muuttoilmoitus on tehty, mutta käyttöpaikalla näkyy yhä edellinen asukas
a: Miksi tieto ei ole päivittynyt?

@ selvityspyynto | paattynyt_itsestaan | G-059 | - | 0.9
f: asiakkaan sopimus näkyy päättyneenä, vaikka hän ei ole irtisanonut sitä
f: sopimus on päättynyt {pvm_men} ilman, että kukaan on sitä pyytänyt
a: Miksi sopimus on päättynyt?

@ selvityspyynto | vaara_henkilo | G-059 | - | 0.8
f: sopimus on kirjautunut väärän henkilön nimiin, vaikka sopimuksen teki {nimi}
f: sopimuksella on asiakkaan entisen puolison tiedot
a: Miten tämä on voinut käydä?

@ selvityspyynto | tuotevaihto_ei_nay | G-059 | - | 0.9
f: asiakkaan tuotevaihto {pvm_men} ei näy järjestelmässä, sopimuksella on edelleen {tuote}
f: tuotevaihto tehtiin, mutta laskulla on yhä vanha tuote
a: Onko tuotevaihto mennyt läpi?

@ selvityspyynto | kaksi_asnroa | G-059 | - | 0.8
f: samalla asiakkaalla on kaksi asiakasnumeroa ja sopimukset jakautuvat niille
f: asiakas löytyy järjestelmästä kahdesti eri asiakasnumeroilla
a: Voiko nämä yhdistää?

@ selvityspyynto | peruttu_tila | G-059 | - | 0.8
f: asiakkaan uusi sopimus on mennyt peruttu-tilaan, vaikka kukaan ei perunut sitä
f: sopimus peruuntui itsestään {pvm_men}
a: Miksi sopimus peruuntui?

@@ tuotteet_ja_hinnastot
s: hinta ; tuotekysymys ; hintakysely

@ tuotteet_ja_hinnastot | hinnasto | G-041,G-042 | - | 1.8
s: hinnasto ; paljonko maksaa?
f: asiakas kysyy {tuote}-tuotteen kWh-hintaa ja perusmaksua
f: asiakas haluaa hintavertailun kaikista kuluttajatuotteista
f: asiakas kysyy, paljonko perussähkö maksaa nyt
f: asiakas kysyy, mikä on pörssisähkön perusmaksu kuukaudessa
a: Mistä löydän ajantasaisen hinnaston?
a: Mikä on tämänhetkinen hinta?
a: Onko hinnasto muuttunut vuodenvaihteessa?

@ tuotteet_ja_hinnastot | porssisahko | G-043 | - | 1.2
s: pörssisähkö ; spot-hinta
f: asiakas kysyy, miten pörssisähkön hinta muodostuu
f: asiakas harkitsee pörssisähköä ja kysyy marginaalista
f: asiakkaalla ei ole tuntimittaria, mutta hän haluaisi pörssisähkön
a: Miten pörssisähkön hinta lasketaan?
a: Paljonko marginaali on?
a: Tarvitaanko pörssisähköön tuntimittaus?

@ tuotteet_ja_hinnastot | kevatkampanja | G-044 | 2016-03-01..2016-06-15 | 1.2
s: kevätkampanja ; kampanjan ehdot
f: asiakas kysyy kevään kampanjan ehdoista
f: asiakas kysyy, koskeeko kevätkampanja myös nykyisiä asiakkaita
f: asiakas haluaa tietää, kuinka pitkään kampanja-alennus on voimassa
a: Ketä kampanja koskee?
a: Mitkä kampanjan ehdot ovat?
a: Paljonko alennus on?

@ tuotteet_ja_hinnastot | syksyn_vihrea | G-045 | 2016-08-15..2016-12-31 | 1.2
s: vihreän sähkön kampanja ; syksyn kampanja
f: asiakas kysyy syksyn vihreän sähkön kampanjasta
f: asiakas kysyy, voiko syksyn kampanjan yhdistää jäsenetuun
f: asiakas näki mainoksen vihreän sähkön tarjouksesta
a: Kuka kampanjaan pääsee mukaan?
a: Mitkä ehdot kampanjassa on?
a: Voiko kampanjan yhdistää muihin etuihin?

@ tuotteet_ja_hinnastot | vihrea_alkupera | G-046 | - | 1.0
s: vihreä sähkö ; alkuperätakuu
f: asiakas kysyy, mistä vihreä sähkö oikeasti tulee
f: asiakas haluaa todistuksen siitä, että sähkö on tuulivoimaa
f: asiakas epäilee, onko vihreä sähkö vain markkinointia
a: Mitä vastaan alkuperätakuista?
a: Onko tähän jotain sertifikaattia?
a: Millä sähkö tuotetaan?

@ tuotteet_ja_hinnastot | yrityshinnasto | G-047 | - | 1.0
s: yrityshinnat ; hinnat alv 0
f: yritysasiakas kysyy hintoja ilman arvonlisäveroa
f: pk-yritys {yritys} haluaa hinnat kahdelle toimipaikalle
f: yritysasiakas kysyy, mitä tuotteita yrityksille on
a: Mistä löydän yrityshinnaston?
a: Ovatko yrityshinnat ilman alvia?
a: Mitä tuotteita yrityksille voi tarjota?

@ tuotteet_ja_hinnastot | hinnanmuutos | G-048 | - | 1.2
s: hinnanmuutos ; hintakirje ; hinta nousee
f: asiakas sai kirjeen hinnanmuutoksesta ja kysyy, miksi hinta nousee
f: asiakas kysyy, milloin ilmoitettu uusi hinta tulee voimaan
f: asiakas harkitsee irtisanomista hinnanmuutoksen takia
a: Miksi hinta muuttuu?
a: Milloin muutos tulee voimaan?
a: Onko asiakkaalla oikeus irtisanoa sopimus hinnanmuutoksen vuoksi?

@ tuotteet_ja_hinnastot | tuotteiden_erot | G-049 | - | 1.2
s: tuotteiden erot ; mikä tuote?
f: asiakas kysyy, mikä ero on perussähköllä ja kiinteällä hinnalla
f: asiakas ei ymmärrä, mitä eroa on tuotteilla {tuote} ja {tuote2}
f: asiakas kysyy, kenelle pörssisähkö sopii
a: Miten erot kannattaa selittää?
a: Kumpi on edullisempi sähkölämmitteisessä talossa?
a: Mitä suosittelen?

@ tuotteet_ja_hinnastot | etukoodi | G-050 | - | 0.9
s: etukoodi ; jäsenetu
f: asiakas on kuluttajajärjestön jäsen ja kysyy jäsenalennusta
f: asiakkaalla on etukoodi {etukoodi}, mutta se ei mene läpi
f: asiakas kysyy, saako asukasyhdistyksen jäsen alennuksen
a: Mihin etukoodi syötetään?
a: Onko tällaista etua?
a: Kelpaako koodi vielä?

@ tuotteet_ja_hinnastot | kiintea_hinta | G-064 | - | 1.1
s: kiinteä hinta ; määräaikaisen hinta
f: asiakkaalla on kiinteä hinta, ja hän kysyy, kuinka kauan hinta on voimassa
f: asiakas kysyy, mitä kiinteän hinnan jälkeen tapahtuu
f: asiakas haluaa tietää, onko kiinteä hinta todella kiinteä koko sopimuskauden
a: Voiko kiinteää hintaa muuttaa kesken kauden?
a: Mitä hinnalle tapahtuu kauden lopussa?
a: Miten kiinteän hinnan voimassaolo lasketaan?

@ tuotteet_ja_hinnastot | vanha_hinta | G-042 | - | 0.7
s: viime vuoden hinta ; vanha hinnasto
f: asiakas kysyy, mikä hinta hänellä oli viime vuonna
f: asiakas haluaa vertailla viime vuoden hinnastoa nykyiseen
f: asiakas väittää, että perusmaksu oli vuonna 2015 pienempi
a: Löytyykö vanha hinnasto jostain?
a: Mistä näen viime vuoden hinnat?
a: Pitääkö väite paikkansa?

@ tuotteet_ja_hinnastot | sahkoauto | - | - | 0.7
s: sähköauto ; lataus
f: asiakas kysyy, onko meillä sähköautolle omaa tuotetta
f: asiakas hankkii sähköauton ja kysyy latauksesta edullisinta tuotetta
a: Onko tällaista tuotetta?
a: Mitä tähän voi vastata?
a: Onko tulossa jotain latausratkaisua?

@ tuotteet_ja_hinnastot | aurinko | - | - | 0.7
s: aurinkopaneelit ; ylijäämäsähkö
f: asiakkaalla on aurinkopaneelit ja hän kysyy, ostammeko ylijäämäsähkön
f: asiakas aikoo asentaa aurinkopaneelit ja kysyy, onko meillä siihen tuotetta
a: Ostetaanko meillä pientuotantoa?
a: Paljonko ylijäämästä maksetaan?
a: Kenelle tämä kuuluu?

@ tuotteet_ja_hinnastot | suosittelu | - | - | 0.6
s: suosittelu ; lahjakortti
f: asiakas kysyy, saako ystävän suosittelemisesta palkkion
f: asiakas haluaa ostaa lahjakortin sähkölaskuun tyttärelleen
a: Onko meillä tällaista?
a: Mitä asiakkaalle voi sanoa?

@ tuotteet_ja_hinnastot | kampanjat_nyt | G-044,G-045 | - | 1.0
s: onko kampanjoita? ; tarjous
f: asiakas kysyy, onko nyt jotain kampanjaa uusille asiakkaille
f: asiakas kysyy, onko tarjouksia voimassa
f: asiakas vertailee myyjiä ja kysyy, mitä etuja meillä on tällä hetkellä
a: Onko nyt voimassa kampanjoita?
a: Mikä kampanja on tällä hetkellä menossa?

@@ kulutusneuvonta
s: kulutus ; sähkönkulutus ; kulutuskysymys

@ kulutusneuvonta | talvi | G-051 | - | 1.6
s: kulutus noussut ; talven kulutus
f: asiakkaan kulutus on noussut talvella lähes kaksinkertaiseksi
f: asiakas ihmettelee, miksi kulutus oli tammikuussa niin suuri
f: omakotitalon kulutus on kasvanut selvästi edellisvuoteen verrattuna
a: Mistä kasvu voi johtua?
a: Onko tämä normaalia?
a: Miten tätä kannattaa selittää?
a: Asiakas vaatii selitystä kulutukselle.

@ kulutusneuvonta | sahkolammitys | G-051 | - | 1.2
f: asiakkaalla on suora sähkölämmitys ja kulutus on {kwh} vuodessa
f: asiakas vertaa kulutustaan viime vuoteen ja se on noussut 30 %
f: sähkölämmitteisen talon kulutus ihmetyttää asiakasta
a: Onko tämä paljon tällaiselle talolle?
a: Mistä nousu voi johtua?

@ kulutusneuvonta | laitteet | G-051 | - | 1.0
f: asiakas kysyy, paljonko sähkösauna kuluttaa
f: asiakas epäilee, että vanha pakastin syö paljon sähköä
f: asiakas haluaa tietää, mikä kodin laitteista kuluttaa eniten
a: Onko tästä jotain arviota?
a: Mitä asiakkaalle voi sanoa?

@ kulutusneuvonta | saastovinkit | G-052 | - | 1.2
s: säästövinkit ; energiansäästö
f: asiakas haluaa vinkkejä sähkön säästämiseen
f: asiakas kysyy, miten voisi pienentää kulutustaan
f: eläkeläisasiakas haluaisi pienemmät sähkökulut
a: Onko meillä säästövinkkejä asiakkaille?
a: Mitä säästökeinoja voi suositella?

@ kulutusneuvonta | lampopumppu | G-052 | - | 1.0
s: ilmalämpöpumppu
f: asiakas harkitsee ilmalämpöpumppua ja kysyy, kannattaako
f: asiakas kysyy, paljonko ilmalämpöpumppu voisi säästää
a: Kannattaako pumppu tällaisessa talossa?
a: Paljonko säästöä voi odottaa?

@ kulutusneuvonta | lampotila | G-052 | - | 0.8
f: asiakas kysyy, mihin lämpötilaan patterit kannattaa säätää
f: asiakas pitää lattialämmitystä päällä kesälläkin
a: Mitä suositellaan?
a: Paljonko tällä voi säästää?

@ kulutusneuvonta | tuntiseuranta | G-037 | - | 0.9
f: asiakas haluaa seurata, mihin aikaan vuorokaudesta kulutus on suurinta
f: asiakas kysyy, voiko kulutustaan seurata tunneittain verkossa
a: Mistä asiakas näkee tuntikulutuksen?
a: Näkyykö tuntikulutus verkossa?

@ kulutusneuvonta | tyhja_asunto | G-051 | - | 0.9
f: mökillä on kulutusta, vaikka siellä ei ole käyty kuukauteen
f: tyhjillään olevan asunnon kulutus on yllättävän suuri
a: Mikä voi kuluttaa, kun kukaan ei asu siellä?
a: Onko tämä mahdollista?

@ kulutusneuvonta | muuton_jalkeen | G-051 | - | 0.9
f: asiakkaan kulutus on muuton jälkeen paljon suurempi kuin vanhassa asunnossa
f: uudessa talossa kulutus on kaksinkertainen edelliseen verrattuna
a: Mistä ero voi johtua?
a: Miten tätä voi selittää asiakkaalle?

@ kulutusneuvonta | sahkoauto | - | - | 0.6
f: asiakas kysyy, paljonko sähköauton lataus nostaa vuosikulutusta
f: asiakas miettii, paljonko hybridiauton lataaminen kotona kuluttaa
a: Onko tästä mitään tietoa?
a: Osaako joku arvioida?

@ kulutusneuvonta | vertailu | - | - | 0.6
f: asiakas haluaa verrata kulutustaan vastaaviin taloihin
f: asiakas kysyy, mikä on normaali kulutus kaksiossa
a: Onko meillä vertailutietoa?
a: Mitä voin kertoa?

@ kulutusneuvonta | epailee_kayttoa | - | - | 0.6
f: asiakas epäilee, että joku käyttää hänen ulkopistorasiaansa
f: asiakas epäilee, että naapuri lataa autoaan hänen sähköllään
a: Miten tässä kannattaa toimia?
a: Voiko tätä jotenkin todeta?

@@ vaara_vastaanottaja
a: Kenelle tämä kuuluu?
a: Mihin asiakas ohjataan?
s: kysymys ; asiakkaan asia ; apua

@ vaara_vastaanottaja | erapaiva | G-053 | - | 1.3
s: eräpäivä ; maksuaika
f: asiakas pyytää lisäaikaa laskun maksamiseen
f: asiakas haluaa maksusuunnitelman {summa} laskulle
f: asiakas kysyy, voiko laskun eräpäivää siirtää
a: Voiko eräpäivää siirtää?
a: Saako maksusuunnitelman tehtyä?
o: Ohjattu laskutukseen.
c: Hei, en pysty maksamaan {summa} laskua eräpäivään mennessä. Voisinko maksaa sen kahdessa osassa? {nimi}

@ vaara_vastaanottaja | arviolasku | G-053 | - | 1.2
s: arviolasku ; lukema väärin
f: asiakas sai arviolaskun, vaikka hänellä on etäluettava mittari
f: asiakkaan laskulla on väärä lukema
f: laskun lukema on arvio, ja asiakas ilmoitti oikean lukeman
f: asiakas vaatii, että arviolasku korjataan oikeilla lukemilla
a: Voiko laskun korjata?
a: Miten lukema päivitetään?
o: Laskutukselle.

@ vaara_vastaanottaja | muistutus | G-053 | - | 1.0
s: maksumuistutus ; perintä
f: asiakas sai maksumuistutuksen, vaikka maksoi laskun ajallaan
f: asiakas reklamoi perintäkuluista
f: asiakkaan lasku on mennyt perintään, vaikka hän ei saanut alkuperäistä
a: Voiko muistutuskulut poistaa?
a: Voiko perinnän perua?
o: Neuvottu ottamaan yhteys laskutukseen.

@ vaara_vastaanottaja | hyvitys_tilille | G-053 | - | 0.9
s: hyvitys ; palautus tilille
f: asiakkaalla on hyvitystä {summa} ja hän haluaa rahat tilille
f: loppulaskusta jäi asiakkaalle saatavaa {summa}
a: Milloin rahat tulevat tilille?
a: Miten palautus tehdään?

@ vaara_vastaanottaja | laskun_summa | G-053 | - | 1.1
s: lasku liian suuri ; laskusta
f: asiakas reklamoi laskusta, jonka summa on {summa}, ja vaatii sen korjaamista
f: asiakas on tyytymätön laskun suuruuteen ja haluaa hyvityksen
f: asiakkaan tasauslasku on {summa} ja hän pitää sitä virheellisenä
a: Voiko laskua korjata?
a: Kuka laskun tarkistaa?

@ vaara_vastaanottaja | laskutusvali | G-053 | - | 0.8
s: laskutusväli ; kuukausilasku
f: asiakas haluaa laskut jatkossa kuukausittain
f: asiakas haluaa muuttaa laskutusväliä neljännesvuosittaiseksi
a: Voiko laskutusväliä muuttaa?
a: Mistä laskutusvälin voi vaihtaa?

@ vaara_vastaanottaja | sahkokatko | G-054 | - | 1.1
s: sähkökatko ; ei sähköjä
f: asiakkaalla ei ole sähköjä
f: koko kadulla on sähkökatko
f: asiakas kysyy, milloin sähköt palaavat myrskyn jälkeen
a: Milloin sähköt palaavat?
a: Mistä vian voi tarkistaa?
o: Neuvottu soittamaan verkkoyhtiön vikapalveluun.

@ vaara_vastaanottaja | mittari | G-054 | - | 1.0
s: mittari ; mittarin vaihto
f: asiakkaan mittari on rikki
f: asiakas kysyy, milloin mittari vaihdetaan etäluettavaan
f: mittarin näytössä on virheilmoitus
a: Kuka mittarin vaihtaa?
a: Mistä asiakas saa tietoa?
o: Verkkoyhtiön asia, ohjattu.

@ vaara_vastaanottaja | liittyma | G-054 | - | 0.9
s: liittymä ; sähköliittymä
f: asiakas rakentaa ja kysyy liittymän hintaa
f: asiakas haluaa tehdä liittymäsopimuksen uudelle tontille
f: asiakas haluaa suurentaa pääsulakkeita
a: Kuka liittymän tekee?
a: Mistä liittymähinnat löytyy?

@ vaara_vastaanottaja | siirtohinta | G-054 | - | 0.9
s: siirtohinta ; siirtomaksu nousi
f: asiakas valittaa siirtohinnan noususta
f: asiakas kysyy, miksi siirtomaksu nousi
f: asiakas ihmettelee, miksi siirtolasku on suurempi kuin energialasku
a: Miksi siirtohinta nousi?
a: Kuka voi vastata tähän?

@ vaara_vastaanottaja | kaukolampo | G-055 | - | 0.8
s: kaukolämpö ; lämpösopimus
f: asiakas kysyy kaukolämpöliittymästä
f: asiakas haluaa tarjouksen kaukolämmöstä
f: asiakkaan kaukolämpölasku on asiakkaan mielestä väärin
a: Kuka kaukolämpöasiat hoitaa?
a: Mihin asiakas ohjataan?

@ vaara_vastaanottaja | iso_yritys | G-055 | - | 0.7
s: tarjouspyyntö ; kilpailutus
f: iso yritys haluaa tarjouksen sähköstä 30 toimipaikalle
f: kaupungin hankintayksikkö kilpailuttaa sähkön ja pyytää tarjousta
a: Kuka suurasiakkaat hoitaa?
a: Mihin tarjouspyyntö välitetään?

@ vaara_vastaanottaja | oma_tunnus | G-056 | - | 0.9
s: tunnus lukossa ; käyttöoikeus
f: E:en pääse kirjautumaan CRM:ään, tunnus on lukossa
f: E:minulta puuttuu käyttöoikeus laskutusjärjestelmään
f: P:palveluneuvojan tunnus lukossa, ei pääse CRM:ään
f: asiakaspalvelun puhelinjärjestelmä ei näytä jonoja
a: E:Kuka tunnuksen avaa?
a: Kenelle tästä ilmoitetaan?
o: Ohjattu IT-tukeen.

@ vaara_vastaanottaja | esimiesasia | G-056 | - | 0.7
s: vuoro ; poissaolo
f: E:haluaisin vaihtaa ensi viikon vuoroa
f: E:kenelle ilmoitan sairauspoissaolosta
f: palveluneuvoja kysyy ylityökorvauksista
a: Kuka tätä hoitaa?
a: E:Kenelle tämä pitäisi laittaa?
o: Ohjattu omalle esimiehelle.

@ vaara_vastaanottaja | markkinointi | - | - | 0.7
s: virhe mainoksessa ; nettisivut
f: mainoksessa on väärä puhelinnumero
f: nettisivujen kampanjasivulla on virhe hinnassa
f: asiakas kysyy, miksi hänelle tuli mainos kilpailijan nimellä
a: E:Voitteko välittää markkinointiin?
a: Kuka nettisivuja päivittää?

@ vaara_vastaanottaja | hr | - | - | 0.5
s: työpaikka ; työtodistus
f: asiakas kysyy, haetaanko teille töitä
f: entinen työntekijä tarvitsee työtodistuksen
f: opiskelija kysyy harjoittelupaikkaa
a: Kenelle tämä kuuluu?
a: Mihin hänet ohjataan?
"""

# ---------------------------------------------------------------------------
# Slot values (all invented)
# ---------------------------------------------------------------------------

FIRST_NAMES = (
    "Aino Anna Anne Anni Eeva Elina Emilia Hanna Heidi Helena Henna Iida Jenni Johanna "
    "Katja Kirsi Laura Leena Liisa Maija Marja Minna Niina Noora Paula Pia Riikka Sanna "
    "Satu Sari Suvi Tiina Tuula Veera Outi Merja Raija Terhi Aleksi Antti Eero Esa Harri "
    "Heikki Jari Jani Joni Juha Jukka Kalle Kari Lauri Markku Matti Mika Mikko Olli Pasi "
    "Pekka Petri Risto Sami Teemu Timo Tomi Tuomas Ville Arto Ilkka Raimo Seppo Jouni"
).split()
SURNAMES = (
    "Aaltonen Heikkinen Hiltunen Honkanen Huttunen Hyvönen Jokinen Kallio Karjalainen "
    "Kettunen Koivisto Korhonen Koskinen Lahtinen Laine Laitinen Lehtonen Leinonen Manninen "
    "Mattila Miettinen Mustonen Mäkelä Mäkinen Nieminen Niemi Nurmi Ojala Peltonen Pitkänen "
    "Rantanen Räsänen Saarinen Salminen Salonen Savolainen Toivonen Turunen Tuominen Vainio "
    "Virtanen Väisänen Hakala Heinonen Kinnunen Lindholm Lindqvist Nyström Björkman Ahonen "
    "Hirvonen Jääskeläinen Kemppainen Kokkonen Lappalainen Moilanen Pesonen Rissanen Seppälä"
).split()
AGENT_NAMES = (
    "Anne Sanna Jonna Mikko Riikka Sari Katja Noora Heidi Tiia Aino Leena Esa Rasmus Anni "
    "Linnea Marika Jenna Sonja Viivi Karoliina Anssi Lotta Heikki Johanna Tarja Mirja Pauliina "
    "Juho Emma Oskari Ella Niko Petra Jasmin Tuomo Milla Ronja Joonas Salla"
).split()
STREETS = (
    "Koivukuja Rantatie Mäntytie Kirkkokatu Asemakatu Puistotie Myllytie Kuusitie Haapakuja "
    "Pihlajatie Koulukatu Lehtotie Satamakatu Vaahterakuja Kalliotie Peltotie Harjutie "
    "Metsäpolku Niittykuja Sammalkuja Kanervatie Kartanontie Hiekkatie Tähtitie Louhentie "
    "Järvenrannantie Kivikkotie Tilhenkuja Ruislinnuntie Urheilukatu Pajakuja Suvantotie"
).split()
TOWNS = [
    ("Espoo", "02", 100, 980), ("Vantaa", "01", 200, 760), ("Helsinki", "00", 100, 990),
    ("Kerava", "04", 200, 260), ("Järvenpää", "04", 400, 480), ("Tuusula", "04", 300, 380),
    ("Nurmijärvi", "01", 900, 940), ("Hyvinkää", "05", 800, 880), ("Lahti", "15", 100, 900),
    ("Porvoo", "06", 100, 500), ("Lohja", "08", 100, 500), ("Kirkkonummi", "02", 400, 440),
    ("Tampere", "33", 100, 900), ("Hämeenlinna", "13", 100, 500), ("Riihimäki", "11", 100, 130),
    ("Mäntsälä", "04", 600, 680), ("Sipoo", "04", 130, 170), ("Vihti", "03", 400, 440),
    ("Kouvola", "45", 100, 910), ("Loviisa", "07", 900, 960),
]
PRODUCTS = ["Perussähkö", "Vihreä sähkö", "Pörssisähkö", "Kiinteä 12 kk", "Kiinteä 24 kk"]
SUPPLIERS = [
    "Revontulivirta Oy", "Kaamos Energia", "Virtaväylä Oy", "Kuusikon Sähkö", "Aallokko Energia Oy",
    "Järvisähkö Myynti", "Pohjavirta Oy", "Lakeuden Valo Oy", "Tunturisähkö", "Saaristoenergia Oy",
]
CRM_ERRORS = [
    "Käyttöpaikalla on voimassa oleva sopimus", "Virheellinen käyttöpaikkatunnus",
    "Henkilötunnus puuttuu tai on virheellinen", "ERR-4031 tallennus epäonnistui",
    "Aloituspäivä ei ole sallittu", "Asiakkaalla on avoin toimeksianto",
    "Osoitetta ei voitu vahvistaa", "Tuotetta ei voi liittää käyttöpaikkaan",
    "Validointivirhe: kenttä pakollinen", "Päällekkäinen sopimus",
]
WEB_ERRORS = ["500", "Virhe 403", "Istunto vanhentunut", "Tuntematon virhe (E102)",
              "Palvelu ei ole käytettävissä", "Error 404"]
CAMPAIGN_CODES = ["KEVAT16", "KEVÄT2016", "UUSI16", "KEVATETU", "KEVAT-3KK"]
BENEFIT_CODES = ["JASEN16", "ETU-4471", "ASUKAS10", "KJ2016", "YHDISTYS5"]
BUSINESS_WORDS = [
    "Kotileipomo Helmi", "Parturi Saksi", "Kukkakauppa Orvokki", "Lakeuden Kone", "Metsäpalvelu Tapio",
    "Kahvila Kanerva", "Putkityö Virta", "Autohuolto Kytkin", "Kampaamo Kiharat", "Tilitoimisto Summa",
]
EMAIL_DOMAINS = ["posti.example", "kotiposti.example", "netti.example", "mail.example", "koti.example"]
MONTH_FI = ["tammikuu", "helmikuu", "maaliskuu", "huhtikuu", "toukokuu", "kesäkuu",
            "heinäkuu", "elokuu", "syyskuu", "lokakuu", "marraskuu", "joulukuu"]


def _ascii_fold(s: str) -> str:
    return s.lower().replace("ä", "a").replace("ö", "o").replace("å", "a")


def _ytunnus(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2)
    while True:
        digits = [rng.randrange(10) for _ in range(7)]
        digits[0] = rng.randrange(1, 3)
        r = sum(d * w for d, w in zip(digits, weights)) % 11
        if r == 1:
            continue
        check = 0 if r == 0 else 11 - r
        return "".join(map(str, digits)) + "-" + str(check)


def _fmt_date(rng: random.Random, d: dt.date) -> str:
    r = rng.random()
    if r < 0.45:
        return f"{d.day}.{d.month}."
    if r < 0.75:
        return f"{d.day}.{d.month}.{d.year}"
    if r < 0.9:
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    return f"{d.day}.{d.month}.{d.year % 100}"


def _address(rng: random.Random) -> str:
    street = rng.choice(STREETS)
    num = rng.randint(1, 60)
    r = rng.random()
    if r < 0.35:
        num_s = f"{num} {rng.choice('ABCDE')} {rng.randint(1, 40)}"
    elif r < 0.5:
        num_s = f"{num} as {rng.randint(1, 24)}"
    else:
        num_s = str(num)
    town, prefix, lo, hi = rng.choice(TOWNS)
    r = rng.random()
    if r < 0.45:
        code = f"{prefix}{rng.randrange(lo, hi + 1, 10) % 1000:03d}"
        return f"{street} {num_s}, {code} {town}"
    if r < 0.85:
        return f"{street} {num_s}, {town}"
    return f"{street} {num_s} {town}"


class Slots:
    """Lazily draws slot values for one record; the same name gives the same value."""

    def __init__(self, rng: random.Random, when: dt.datetime, agent: str, agent_surname: str):
        self.rng = rng
        self.when = when
        self.values: dict[str, str] = {"agentti": agent, "agentti_suku": agent_surname,
                                       "klo": f"{when.hour}.{when.minute:02d}"}

    def get(self, name: str) -> str:
        if name not in self.values:
            self.values[name] = self._draw(name)
        return self.values[name]

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)

    def _draw(self, name: str) -> str:  # noqa: C901 - a flat dispatch table
        rng = self.rng
        if name in ("nimi", "etunimi", "sukunimi"):
            first, last = self._person()
            self.values["etunimi"], self.values["sukunimi"] = first, last
            self.values["nimi"] = f"{first} {last}" if rng.random() < 0.9 else f"{last} {first}"
            return self.values[name]
        if name == "nimi2":
            first, last = self._person()
            return f"{first} {last}"
        if name == "asnro":
            return str(rng.randint(1000000, 9999999))
        if name == "sopnro":
            return str(rng.randint(10000000, 99999999))
        if name == "kp":
            return "643" + "".join(str(rng.randrange(10)) for _ in range(15))
        if name == "asnro_l":
            fmt = rng.choice(["asiakasnumero {v}", "asnro {v}", "as.nro {v}", "asnro: {v}",
                              "asiakasnro {v}", "as nro {v}", "asiakasnumero: {v}", "Asnro {v}"])
            return fmt.format(v=self.get("asnro"))
        if name == "sopnro_l":
            fmt = rng.choice(["sopimusnumero {v}", "sopnro {v}", "sop.nro {v}", "sopimusnro {v}"])
            return fmt.format(v=self.get("sopnro"))
        if name == "kp_l":
            fmt = rng.choice(["käyttöpaikkatunnus {v}", "kp {v}", "kp-tunnus {v}", "käyttöpaikka {v}",
                              "KP {v}"])
            return fmt.format(v=self.get("kp"))
        if name in ("osoite", "osoite2"):
            return _address(rng)
        if name in ("pvm", "pvm2"):
            d = self.when.date() + dt.timedelta(days=rng.randint(2, 50))
            if rng.random() < 0.35:
                d = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            return _fmt_date(rng, d)
        if name == "pvm_men":
            d = self.when.date() - dt.timedelta(days=rng.randint(4, 60))
            return _fmt_date(rng, d)
        if name == "tuote":
            return rng.choice(PRODUCTS)
        if name == "tuote2":
            first = self.get("tuote")
            return rng.choice([p for p in PRODUCTS if p != first])
        if name == "hinta":
            return f"{rng.randint(390, 799) / 100:.2f}".replace(".", ",") + rng.choice(
                [" c/kWh", " snt/kWh", " c/kwh", "c/kWh"])
        if name == "myyja":
            return rng.choice(SUPPLIERS)
        if name == "ytunnus":
            return _ytunnus(rng)
        if name == "yritys":
            r = rng.random()
            if r < 0.35:
                return rng.choice(BUSINESS_WORDS) + rng.choice([" Oy", "", " Ky"])
            if r < 0.6:
                return f"Tmi {rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            return f"{rng.choice(SURNAMES)} {rng.choice(['Rakennus', 'Consulting', 'Logistiikka', 'Sähkötyö', 'Maalaus'])} Oy"
        if name in ("puh", "apuh"):
            pre = rng.choice(["040", "050", "044", "045", "041", "046"])
            n = rng.randint(1000000, 9999999)
            s = str(n)
            return rng.choice([f"{pre} {s[:3]} {s[3:]}", f"{pre}-{s}", f"{pre} {s}", f"{pre}{s}"])
        if name == "email":
            first, last = self.get("etunimi"), self.get("sukunimi")
            user = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}",
                               f"{last}.{first}"])
            return _ascii_fold(user) + "@" + rng.choice(EMAIL_DOMAINS)
        if name == "summa":
            return f"{rng.randint(3500, 95000) / 100:.2f}".replace(".", ",") + rng.choice(
                [" €", " €", "€", " e", " euroa"])
        if name == "kwh":
            v = rng.choice(range(2000, 26000, 100))
            return rng.choice([f"{v // 1000} {v % 1000:03d} kWh", f"{v} kWh", f"{v // 1000} {v % 1000:03d} kwh"])
        if name == "virhe":
            return rng.choice(CRM_ERRORS)
        if name == "vpvirhe":
            return rng.choice(WEB_ERRORS)
        if name == "kampanjakoodi":
            return rng.choice(CAMPAIGN_CODES)
        if name == "etukoodi":
            return rng.choice(BENEFIT_CODES)
        raise KeyError(f"unknown slot {{{name}}}")


_SLOT_RE = re.compile(r"\{(\w+)\}")


def fill(template: str, slots: Slots) -> str:
    return _SLOT_RE.sub(lambda m: slots.get(m.group(1)), template)


def cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def lowfirst(s: str) -> str:
    if len(s) > 1 and s[1].isupper():  # keep acronyms such as CRM
        return s
    return s[:1].lower() + s[1:] if s else s


def end_sentence(s: str) -> str:
    s = s.rstrip()
    return s if s[-1:] in ".?!:" else s + "."


# ---------------------------------------------------------------------------
# Situation bank parsing
# ---------------------------------------------------------------------------

class Situation:
    __slots__ = ("topic", "key", "guidelines", "window", "weight", "subjects", "facts",
                 "asks", "cust", "outcomes")

    def __init__(self, topic, key, guidelines, window, weight):
        self.topic = topic
        self.key = key
        self.guidelines = guidelines
        self.window = window
        self.weight = weight
        self.subjects: list[str] = []
        self.facts: list[str] = []
        self.asks: list[str] = []
        self.cust: list[str] = []
        self.outcomes: list[str] = []

    def valid_on(self, day: dt.date) -> bool:
        return self.window is None or self.window[0] <= day <= self.window[1]


def _split_channel(items: list[str], channel: str) -> list[str]:
    out = []
    for it in items:
        if it.startswith("E:"):
            if channel == "email":
                out.append(it[2:])
        elif it.startswith("P:"):
            if channel == "phone":
                out.append(it[2:])
        else:
            out.append(it)
    return out


def _parse_bank(text: str):
    situations: list[Situation] = []
    topic_extra: dict[str, dict[str, list[str]]] = {}
    cur = None  # Situation or dict of topic extras
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@@"):
            topic = line[2:].strip()
            cur = topic_extra.setdefault(topic, {"a": [], "s": [], "o": []})
            continue
        if line.startswith("@"):
            parts = [p.strip() for p in line[1:].split("|")]
            topic, key, gl, window, weight = parts
            gls = None if gl == "-" else tuple(g.strip() for g in gl.split(","))
            win = None
            if window != "-":
                a, b = window.split("..")
                win = (dt.date.fromisoformat(a), dt.date.fromisoformat(b))
            cur = Situation(topic, key, gls, win, float(weight))
            situations.append(cur)
            continue
        kind, _, value = line.partition(":")
        value = value.strip()
        if isinstance(cur, dict):
            if kind == "s":
                cur["s"].extend(v.strip() for v in value.split(";"))
            else:
                cur[kind].append(value)
        else:
            if kind == "s":
                cur.subjects.extend(v.strip() for v in value.split(";"))
            elif kind == "f":
                cur.facts.append(value)
            elif kind == "a":
                cur.asks.append(value)
            elif kind == "c":
                cur.cust.append(value)
            elif kind == "o":
                cur.outcomes.append(value)
            else:
                raise ValueError(f"bad bank line: {raw!r}")
    return situations, topic_extra


SITUATIONS, TOPIC_EXTRA = _parse_bank(BANK)
#: Sentence-initial words that may be lower-cased after an inline greeting ("Hei, asiakas ...").
LOWER_STARTS = {cap(t.split(" ", 1)[0]) for s in SITUATIONS for t in s.facts + s.asks
                if t[:1].islower() and not t.startswith(("E:", "P:"))}
BY_TOPIC: dict[str, list[Situation]] = {}
for _s in SITUATIONS:
    BY_TOPIC.setdefault(_s.topic, []).append(_s)


# ---------------------------------------------------------------------------
# Shared frames (used by every topic, so they carry no label)
# ---------------------------------------------------------------------------

GREETINGS = ["Hei,", "Hei!", "Hei", "Moi,", "Moi!", "Moikka,", "Hei sopimustiimi,", "Hei sopimustiimi!",
             "Hyvää huomenta,", "Hyvää päivää,", "Hei taas,", "Terve,", "Heippa,", "Päivää,",
             "Hei kaikki,", "Moro,", "Hei vaan,", "Huomenta!", "Hei te siellä,", "Iltapäivää,"]
INTROS = ["Asiakas soitti äsken.", "Tällainen tapaus tänään:", "Kysyisin yhtä asiaa.",
          "Tarvitsisin apua yhden asiakkaan kanssa.", "Tuli tällainen puhelu.",
          "Sain asiakkaalta viestin.", "Nopea kysymys:", "Tämä jäi vähän auki puhelussa.",
          "Yksi asia vielä tältä päivältä:", "Mulla olis yks kysymys.", "Asiakas otti yhteyttä.",
          "Kysymys asiakkaan puolesta.", "Tällainen tilanne:", "Asiakas soitti jo toista kertaa.",
          "Anteeksi jos tämä on tyhmä kysymys.", "Tarvitsen teiltä apua."]
CLOSERS = ["Kiitos!", "Kiitos paljon avusta.", "Kiitos jo etukäteen.", "Asiakas odottaa vastausta.",
           "Asiakkaalle luvattu vastaus huomiseksi.", "Voisitteko katsoa?", "Voitteko katsoa tämän?",
           "Ilmoitan asiakkaalle kun kuulen teistä.", "Kiireellinen.", "Kollegakaan ei tiennyt.",
           "En löytänyt intrasta tähän vastausta.", "Ei kiirettä.", "Soitan asiakkaalle takaisin kun tiedän.",
           "Kiitti!", "Kiitos nopeasta vastauksesta!", "Mitä tässä kannattaa tehdä?", "Kiitos avusta!",
           "Asiakas on linjoilla uudestaan iltapäivällä.", "Vastaisitteko tänään?", "Kiitos ja anteeksi vaiva."]
SIGNATURES = ["t. {agentti}", "T. {agentti}", "Terv. {agentti} / asiakaspalvelu", "Kiitos!\n{agentti}",
              "Ystävällisin terveisin\n{agentti} {agentti_suku}\nPalvelukumppani Oy",
              "Terveisin\n{agentti} {agentti_suku}\nasiakaspalvelu", "-{agentti}", "- {agentti}",
              "Kiitos avusta, {agentti}", "Yst. terv. {agentti}", "{agentti}", "{agentti} {agentti_suku}",
              "Terveisin {agentti}", "t: {agentti} as.palv.",
              "Kiitos jo etukäteen!\n\n{agentti} {agentti_suku}\nPalveluneuvoja\nPalvelukumppani Oy\npuh. {apuh}",
              "Ystävällisin terveisin / Med vänliga hälsningar\n{agentti} {agentti_suku}",
              "Terv.\n{agentti}", "{agentti}/AP"]
IDENTS = ["{asnro_l}", "{asnro_l}", "Asiakas: {nimi}, {asnro_l}", "{nimi}, {asnro_l}", "{nimi} / {asnro}",
          "{nimi}\n{osoite}\n{asnro_l}", "{sopnro_l}", "{asnro_l}, {kp_l}", "{kp_l}",
          "Asiakkaan tiedot:\n{nimi}\n{asnro_l}\n{sopnro_l}", "{nimi} ({asnro})", "{asnro_l} / {sopnro_l}",
          "asiakas {nimi} {asnro}", "{asnro}"]
SIDE_MATTERS = [
    "Samalla päivitin asiakkaan puhelinnumeron.",
    "Asiakas kysyi myös laskun eräpäivästä, mutta sen ohjasin laskutukseen.",
    "Kerroin samalla verkkopalvelun tunnuksista.",
    "Asiakas mainitsi myös muutosta, mutta se on vasta ensi vuonna.",
    "Lisäksi asiakas kysyi kampanjoista, ne kerroin itse.",
    "Vahvistus on muuten tullut asiakkaalle normaalisti.",
    "Hinnat kerroin asiakkaalle jo.",
    "Asiakas on ollut meillä asiakkaana jo pitkään.",
    "Sopimus on muuten tehty aikanaan puhelimessa.",
    "Asiakas kiitteli muuten hyvästä palvelusta.",
    "Asiakkaalle meni myös lasku vanhaan osoitteeseen, siitä hän soittaa laskutukseen itse.",
    "Tunnistin asiakkaan normaalisti.",
    "Ps. asiakas kysyi myös kulutusraportista, neuvoin sen.",
    "Sivuhuomiona: asiakkaalla on myös mökki, mutta se ei liity tähän.",
    "Asiakas kyseli myös sähkön hinnasta yleisesti.",
    "Lisäksi hän halusi tietää, milloin sopimus on tehty, sen kerroin.",
    "Ja sitten vielä: asiakas haluaa jatkossa laskut sähköpostiin, sen tein jo.",
    "Yhteystiedot tarkistettu.",
]
PHONE_HEADERS = ["Soitto as.palv./{agentti}: ", "As.palv. {agentti} soitti: ", "{agentti} asiakaspalvelusta: ",
                 "Asiakaspalvelusta soitti {agentti}, ", "Puhelu {agentti}/asiakaspalvelu klo {klo}: ",
                 "{agentti} (as.palv.) - ", "AP {agentti}: ", "Soitti {agentti} (asiakaspalvelu): ",
                 "{agentti} soitti: ", "", "", "Puhelu: ", "as.palv.: ", "Soitto klo {klo}, {agentti}: ",
                 "{agentti}/as.palv. ", "Asiakaspalvelu ({agentti}): ", "Soitto asiakaspalvelusta: "]
PHONE_OUTCOMES = ["Ohjeistettu.", "Neuvottu.", "Ohjeistin.", "Kerroin miten toimitaan.", "ok", "Hoidettu.",
                  "Neuvottu puhelimessa, ok.", "Selvitetään, palaan asiaan.", "Lupasin katsoa ja soittaa takaisin.",
                  "Tehty täältä.", "-> ohjattu ohjeeseen", "Neuvottu katsomaan intrasta.", "Kirjattu.",
                  "Laitettu eteenpäin.", "Asia hoidossa.", "Katsottiin yhdessä.", "Otin käsittelyyn.",
                  "Vastattu.", "Ohjeistettu, ok.", "Neuvoin.", "Hoidetaan täältä.", "Palataan huomenna.",
                  "Selvitetty puhelimessa."]
PHONE_ASK_VERBS = ["kysyi", "kysyi", "kysyi", "kysyi että", "halusi tietää", "kyseli", "kysy"]
QUOTE_LEADS = ["Asiakas lähetti alla olevan viestin.", "Ks. alla asiakkaan viesti.", "Asiakas kysyy alla.",
               "Alla asiakkaan sähköposti.", "Tällainen viesti tuli asiakkaalta:", "Ks. alla.",
               "Asiakkaan viesti alla."]
GENERIC_SUBJECTS = ["Kysymys", "asnro {asnro}", "Tukipyyntö", "Asiakas {nimi}", "apua", "kysymys asiakkaasta",
                    "{sopnro}", "Asiakkaan asia", "Hei", "Pikainen kysymys", "Asiakas {asnro}",
                    "sopimus {sopnro}", "kiire", "?", "asiakas {asnro}", "Tiedustelu", "as.nro {asnro}"]
SUBJECT_PREFIXES = ["VS: ", "FW: ", "Fwd: ", "RE: ", "VL: ", "VS: VS: "]

ABBREVIATIONS = [
    (r"\basiakasnumero\b", ["asnro", "as.nro", "asiakasnro"]),
    (r"\bsopimusnumero\b", ["sopnro", "sop.nro"]),
    (r"\bkäyttöpaikkatunnus(ta|ksen)?\b", ["kp-tunnus", "kp"]),
    (r"\besimerkiksi\b", ["esim.", "esim"]),
    (r"\bkyseinen\b", ["ko."]),
    (r"\bkyseisen\b", ["ko."]),
    (r"\btai vastaavaa\b", ["tms.", "tms"]),
    (r"\bpäivämäärä\b", ["pvm"]),
    (r"\bpuhelinnumero\b", ["puh.nro", "puhnro"]),
    (r"\basiakaspalvelu\b", ["as.palv.", "aspa"]),
    (r"\bmäärä­aikainen\b", ["ma"]),
    (r"\bkuukautta\b", ["kk"]),
    (r"\bkilowattituntia\b", ["kWh"]),
    (r"\barvonlisäveroa\b", ["alv:ta", "alvia"]),
    (r"\bhenkilötunnus(ta)?\b", ["hetu", "hetua"]),
    (r"\bja niin edelleen\b", ["jne."]),
]
ABBREV_RES = [(re.compile(p), subs) for p, subs in ABBREVIATIONS]

COLLOQUIAL = [
    ("pitäisi", "pitäis"), ("Pitäisi", "Pitäis"), ("Onko ", "Onks "), ("onko ", "onks "),
    ("Voiko ", "Voiks "), ("voiko ", "voiks "), ("en tiedä", "en tiiä"), ("olisi", "olis"),
    ("tarvitsee", "tarttee"), ("ei ole", "ei oo"), ("tämä", "tää"), ("Tämä", "Tää"), ("tämän", "tän"),
    ("sellainen", "sellanen"), ("tällainen", "tällanen"), ("Minulla", "Mulla"), ("minulla", "mulla"),
    ("minä ", "mä "), ("hänen ", "sen "), ("hän ", "se "), ("Hän ", "Se "), ("haluaisi", "haluais"),
    ("kuitenkin", "kuitenki"), ("Pitääkö", "Pitääks"), ("yksi", "yks"), ("kysyisin", "kysyisin vaan"),
]


# ---------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------

_WORD_RE = re.compile(r"[A-Za-zÅÄÖåäö]{5,}")


def _typo(rng: random.Random, text: str) -> str:
    words = list(_WORD_RE.finditer(text))
    if not words:
        return text
    m = rng.choice(words)
    w = m.group(0)
    i = rng.randrange(1, len(w) - 1)
    r = rng.random()
    if r < 0.45:
        w2 = w[:i] + w[i + 1:]  # dropped letter
    elif r < 0.8:
        w2 = w[:i] + w[i + 1] + w[i] + w[i + 2:]  # swapped letters
    else:
        w2 = w[:i] + w[i] + w[i:]  # doubled letter
    return text[:m.start()] + w2 + text[m.end():]


def add_noise(rng: random.Random, text: str, channel: str) -> str:
    if rng.random() < 0.22:
        for a, b in COLLOQUIAL:
            if a in text and rng.random() < 0.7:
                text = text.replace(a, b)
    if rng.random() < 0.4:
        for rx, subs in ABBREV_RES:
            if rng.random() < 0.6:
                text = rx.sub(lambda _m: rng.choice(subs), text)
    r = rng.random()
    if r < 0.3:
        for _ in range(1 if r < 0.21 else (2 if r < 0.285 else 3)):
            text = _typo(rng, text)
    r = rng.random()
    if r < 0.04:
        text = text.replace("ä", "a").replace("ö", "o").replace("Ä", "A").replace("Ö", "O")
    elif r < 0.12:
        words = list(_WORD_RE.finditer(text))
        for m in rng.sample(words, min(len(words), rng.randint(1, 3))):
            w = m.group(0)
            text = text.replace(w, w.replace("ä", "a").replace("ö", "o"), 1)
    r = rng.random()
    if r < (0.16 if channel == "phone" else 0.08):
        text = text.lower()
    elif r < 0.2:
        text = "\n".join(lowfirst(line) for line in text.split("\n"))
    if rng.random() < 0.15:
        text = re.sub(r"\.(?=\s|$)", "", text) if rng.random() < 0.5 else text.rstrip(".")
    if rng.random() < 0.08:
        text = text.replace("?", "", rng.randint(1, 2))
    if rng.random() < 0.05:
        text = text.replace(", ", " ", 1)
    if rng.random() < 0.04:
        text = text.replace(". ", ".  ", 1)
    return text


# ---------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------

GENERIC_ASKS = ["Miten tässä toimitaan?", "Mitä asiakkaalle kerrotaan?", "E:Osaatteko auttaa?",
                "E:Voitteko neuvoa?", "Mitä tässä pitäisi tehdä?", "E:Miten toimin?", "Mitä kerron asiakkaalle?",
                "E:Voisitteko katsoa?", "Onko tähän ohjetta?", "Miten tämä kirjataan?", "Miten tämä hoidetaan?",
                "Mitä asiakkaalle neuvotaan?", "E:Tiedättekö tästä?", "Mitä asiakkaalle voi kertoa?",
                "Pitääkö meidän tehdä tässä jotain?", "E:Mitä vastaan asiakkaalle?", "Kuka tämän hoitaa?"]


def _asks_for(sit: Situation, channel: str, rng: random.Random) -> str:
    own = _split_channel(sit.asks, channel)
    extra = _split_channel(TOPIC_EXTRA.get(sit.topic, {}).get("a", []), channel)
    r = rng.random()
    if r < 0.14 or not (own or extra):
        return rng.choice(_split_channel(GENERIC_ASKS, channel))
    if own and (not extra or r < 0.74):
        return rng.choice(own)
    return rng.choice(extra or own)


def _indirect(ask: str) -> str:
    return lowfirst(ask.rstrip("?").rstrip())


def compose_email(rng: random.Random, sit: Situation, slots: Slots) -> str:
    facts = _split_channel(sit.facts, "email")
    fact = fill(rng.choice(facts), slots).rstrip(".")
    ask = fill(_asks_for(sit, "email", rng), slots)
    F = cap(fact)
    blocks: list[str] = []
    body_lines: list[str] = []

    r = rng.random()
    if sit.cust and r < 0.14:
        quote = fill(rng.choice(sit.cust), slots)
        lead = rng.choice(QUOTE_LEADS)
        if lead.endswith(":"):
            main = f"{ask} {lead}" if rng.random() < 0.5 else f"{F}. {ask} {lead}"
        else:
            main = f"{lead} {ask}" if rng.random() < 0.6 else f"{F}. {ask} {lead}"
        qstyle = rng.random()
        if qstyle < 0.35:
            qblock = "Asiakas kirjoitti:\n" + "\n".join("> " + ln for ln in quote.split("\n"))
        elif qstyle < 0.7:
            qblock = ("----- Alkuperäinen viesti -----\nLähettäjä: " + slots.get("nimi") + " <"
                      + slots.get("email") + ">\nAihe: " + rng.choice(["sähkösopimus", "Kysymys", "sopimus",
                                                                        "(ei aihetta)", "Asia"])
                      + "\n\n" + quote)
        else:
            qblock = "\"" + quote + "\""
        body_lines.append(main)
        quoted = qblock
    else:
        quoted = None
        q = ask.endswith("?")
        frame = rng.random()
        if frame < 0.34:
            main = f"{F}. {ask}"
        elif frame < 0.48 and q:
            main = f"{F}, {lowfirst(ask)}"
        elif frame < 0.62:
            main = f"{ask} {F}."
        elif frame < 0.74:
            main = f"{F}.\n{ask}"
        elif frame < 0.84:
            main = f"{rng.choice(INTROS)} {F}. {ask}"
        elif frame < 0.9 and q:
            main = f"Kysymys: {ask}\n\n{F}."
        elif frame < 0.95:
            main = f"{F} -> {lowfirst(ask)}"
        else:
            main = f"{rng.choice(INTROS)}\n{F}.\n{ask}"
        body_lines.append(main)
        others = [f for f in facts if f != fact]
        if others and rng.random() < 0.1:  # a rambling agent restates the case in other words
            more = fill(rng.choice(others), slots).rstrip(".")
            body_lines.append(rng.choice(["Eli siis ", "Tarkennuksena: ", "Eli ", "Lisätietona: ", "Siis ",
                                          "Toisin sanoen "]) + lowfirst(more) + ".")

    short = rng.random() < 0.1
    if not short:
        if rng.random() < 0.55:
            ident = fill(rng.choice(IDENTS), slots)
            if rng.random() < 0.4:
                body_lines.insert(0, ident)
            else:
                body_lines.append(ident)
        if rng.random() < 0.09:
            body_lines.append(fill(rng.choice(SIDE_MATTERS), slots))
        if rng.random() < 0.3:
            body_lines.append(rng.choice(CLOSERS))
    sep = "\n" if rng.random() < 0.7 else " "
    body = sep.join(body_lines)

    if not short and rng.random() < 0.72:
        g = rng.choice(_greetings_for(slots.when))
        r = rng.random()
        if r < 0.3 and g.endswith(","):
            first = body.split(" ", 1)[0]
            blocks.append(g + " " + (lowfirst(body) if first in LOWER_STARTS else body))
        elif r < 0.65:
            blocks.append(g + "\n" + body)
        else:
            blocks.append(g + "\n\n" + body)
    else:
        blocks.append(body)
    if not short and rng.random() < 0.74:
        blocks.append(fill(rng.choice(SIGNATURES), slots))
    if quoted:
        blocks.append(quoted)
    return ("\n\n" if rng.random() < 0.6 else "\n").join(blocks)


def _greetings_for(when: dt.datetime) -> list[str]:
    h = when.hour
    out = [g for g in GREETINGS if not (("huomen" in g.lower() and h >= 11) or ("iltapäivää" in g.lower()
                                                                             and not 12 <= h < 18))]
    return out


def compose_phone(rng: random.Random, sit: Situation, slots: Slots) -> str:
    facts = _split_channel(sit.facts, "phone")
    fact = fill(rng.choice(facts), slots).rstrip(".")
    ask = fill(_asks_for(sit, "phone", rng), slots)
    header = fill(rng.choice(PHONE_HEADERS), slots)
    if header and header.endswith((": ", "- ", ", ")) and rng.random() < 0.5:
        F = fact
    else:
        F = cap(fact)
    if ask.endswith("?"):
        verb = rng.choice(PHONE_ASK_VERBS)
        r = rng.random()
        if r < 0.4:
            body = f"{F}, {verb} {_indirect(ask)}."
        elif r < 0.6:
            body = f"{F}. {cap(verb)} {_indirect(ask)}."
        elif r < 0.75:
            body = f"{F} - {ask}"
        elif r < 0.85:
            body = f"{cap(verb)} {_indirect(ask)} ({fact})."
            if header.endswith(": ") and rng.random() < 0.5:
                body = lowfirst(body)
        else:
            body = f"{F}. {ask}"
    elif ask[:1].islower():
        body = f"{F}, {ask}."
    else:
        body = f"{F}. {ask}"
    parts = [header + body]
    if rng.random() < 0.3:
        ident = fill(rng.choice(["{asnro_l}", "({asnro_l})", "{nimi}, {asnro}", "{sopnro_l}", "{kp_l}",
                                 "as. {nimi}"]), slots)
        parts.append(ident if rng.random() < 0.5 else "(" + ident.strip("()") + ")")
    if rng.random() < 0.05:
        parts.append(rng.choice(["Lisäksi kysyi laskusta -> laskutukseen.", "Samalla päivitetty puh.nro.",
                                 "Kysyi myös vahvistuksesta, tullut jo.", "Mainitsi myös muuton, ei vielä ajankohtainen.",
                                 "Hinnat kerrottu."]))
    if rng.random() < 0.8:
        outs = sit.outcomes + PHONE_OUTCOMES if sit.outcomes and rng.random() < 0.5 else PHONE_OUTCOMES
        parts.append(rng.choice(outs))
    return " ".join(p for p in parts if p)


def compose_subject(rng: random.Random, sit: Situation, slots: Slots) -> str:
    if rng.random() < 0.1:
        return ""
    r = rng.random()
    topic_subj = TOPIC_EXTRA.get(sit.topic, {}).get("s", [])
    if sit.subjects and r < 0.55:
        s = rng.choice(sit.subjects)
    elif topic_subj and r < 0.72:
        s = rng.choice(topic_subj)
    else:
        s = rng.choice(GENERIC_SUBJECTS)
    s = fill(s, slots)
    r = rng.random()
    if r < 0.5:
        s = cap(s)
    elif r < 0.6:
        s = s.lower()
    if rng.random() < 0.12:
        s = rng.choice(SUBJECT_PREFIXES) + s
    return s


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def is_business_day(d: dt.date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS_2016


def _local(d: dt.date, minute_of_day: int) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TZ)


def business_minute(rng: random.Random) -> int:
    """A minute in [08:30, 16:00), a bit busier in the morning."""
    return int(rng.triangular(510, 960, 600)) if rng.random() < 0.7 else rng.randrange(510, 960)


def draw_time(rng: random.Random, channel: str, start: dt.date, end: dt.date) -> dt.datetime:
    days = _days(start, end)
    business = [d for d in days if is_business_day(d)]
    if channel == "phone":
        return _local(rng.choice(business), business_minute(rng))
    r = rng.random()
    if r < 0.76 or not business:
        return _local(rng.choice(business), business_minute(rng))
    if r < 0.92:
        d = rng.choice(business)
        m = rng.randrange(390, 510) if rng.random() < 0.3 else rng.randrange(960, 1380)
        return _local(d, m)
    sats = [d for d in days if d.weekday() == 5] or business
    suns = [d for d in days if d.weekday() == 6] or sats
    if r < 0.99:
        return _local(rng.choice(sats), rng.randrange(480, 1200))
    return _local(rng.choice(suns), rng.randrange(600, 1260))


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------

def load_catalogue(folder: Path = HERE) -> dict[str, tuple[dt.date, dt.date | None]]:
    cat = {}
    with open(folder / "guidelines.jsonl", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            g = json.loads(line)
            cat[g["id"]] = (dt.date.fromisoformat(g["published"]),
                            dt.date.fromisoformat(g["retired"]) if g.get("retired") else None)
    return cat


def load_taxonomy(folder: Path = HERE) -> dict[str, dict]:
    with open(folder / "taxonomy.json", encoding="utf-8") as fh:
        tax = json.load(fh)
    return {c["id"]: c for c in tax["categories"]}


def in_force(cat, gid: str, day: dt.date) -> bool:
    published, retired = cat[gid]
    return published <= day and (retired is None or day <= retired)


def choose_guideline(cat, candidates, day: dt.date) -> str | None:
    if not candidates:
        return None
    for g in candidates:
        if in_force(cat, g, day):
            return g
    return candidates[0]


def is_avoidable(tax, cat, topic: str, guideline_id: str | None, day: dt.date) -> bool:
    c = tax[topic]
    if c.get("misrouted"):
        return True
    if c.get("back_office_remit"):
        return False
    return guideline_id is not None and in_force(cat, guideline_id, day)


def _validate_bank(cat, tax) -> None:
    for s in SITUATIONS:
        if s.topic not in tax:
            raise ValueError(f"situation {s.key}: unknown topic {s.topic}")
        for g in s.guidelines or ():
            if g not in cat:
                raise ValueError(f"situation {s.key}: unknown guideline {g}")
    for topic in tax:
        if len(BY_TOPIC.get(topic, [])) < 12:
            raise ValueError(f"topic {topic}: fewer than 12 situations")


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

def _weighted(rng: random.Random, items, weights):
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return items[bisect.bisect_right(cum, rng.random() * total)]


def generate(n: int, seed: int, *, channel: str | None = None, times: list[dt.datetime] | None = None,
             topic_weights: dict[str, float] | None = None, start: dt.date = dt.date(2016, 1, 1),
             end: dt.date = dt.date(2016, 12, 31), id_prefix: str = "gen",
             folder: Path | None = None, with_agent: bool = False) -> list[dict]:
    """Generate ``n`` labelled requests, deterministically from ``seed``.

    ``channel`` forces "email" or "phone"; ``times`` (aware datetimes, length n)
    fixes the send times in the given order; ``topic_weights`` overrides
    :data:`TOPIC_WEIGHTS`; ``start``/``end`` bound the drawn dates;
    ``with_agent`` adds an ``agent`` field ([first name, surname] of the
    customer-service agent whose name the text may sign with).
    """
    folder = Path(folder) if folder else HERE
    cat = load_catalogue(folder)
    tax = load_taxonomy(folder)
    _validate_bank(cat, tax)
    weights = dict(topic_weights or TOPIC_WEIGHTS)
    topics = [t for t in tax if weights.get(t, 0) > 0]
    tw = [weights[t] for t in topics]
    rng = random.Random(seed)
    if times is not None:
        if len(times) != n:
            raise ValueError("times must have n items")
        chans = [channel or ("email" if rng.random() < EMAIL_SHARE else "phone") for _ in range(n)]
        whens = [t.astimezone(TZ) for t in times]
    else:
        chans = [channel or ("email" if rng.random() < EMAIL_SHARE else "phone") for _ in range(n)]
        whens = [draw_time(rng, c, start, end) for c in chans]
        order = sorted(range(n), key=lambda i: (whens[i], i))
        chans = [chans[i] for i in order]
        whens = [whens[i] for i in order]
    width = max(5, len(str(n)))
    seen: set[str] = set()
    out = []
    for i in range(n):
        ch, when = chans[i], whens[i]
        day = when.date()
        topic = _weighted(rng, topics, tw)
        cands = [s for s in BY_TOPIC[topic] if s.valid_on(day)] or BY_TOPIC[topic]
        for _attempt in range(50):
            sit = _weighted(rng, cands, [s.weight for s in cands])
            slots = Slots(rng, when, rng.choice(AGENT_NAMES), rng.choice(SURNAMES))
            if ch == "email":
                text = compose_email(rng, sit, slots)
                subject = compose_subject(rng, sit, slots)
            else:
                text = compose_phone(rng, sit, slots)
                subject = None
            text = add_noise(rng, text, ch).strip()
            if text not in seen:
                break
        seen.add(text)
        gid = choose_guideline(cat, sit.guidelines, day)
        rec = {
            "id": f"{id_prefix}-{i + 1:0{width}d}",
            "channel": ch,
            "sent_at": when.isoformat(),
            "subject": subject,
            "text": text,
            "topic": topic,
            "guideline_id": gid,
            "avoidable": is_avoidable(tax, cat, topic, gid, day),
        }
        if with_agent:
            rec["agent"] = [slots.values["agentti"], slots.values["agentti_suku"]]
        out.append(rec)
    return out


# ---------------------------------------------------------------------------
# Label-leak self-check
# ---------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[a-zåäö0-9]+")


def _bigrams(text: str) -> set[tuple[str, str]]:
    toks = _TOKEN_RE.findall(text.lower())
    return set(zip(toks, toks[1:]))


def leak_report(records: list[dict], in_share: float = 0.5, out_share: float = 0.02):
    """For each topic, bigrams in > in_share of its records and < out_share of the others'."""
    per_topic: dict[str, Counter] = {}
    n_topic: Counter = Counter()
    total: Counter = Counter()
    for r in records:
        grams = _bigrams((r.get("subject") or "") + "\n" + r["text"])
        per_topic.setdefault(r["topic"], Counter()).update(grams)
        n_topic[r["topic"]] += 1
        total.update(grams)
    n_all = sum(n_topic.values())
    report = {}
    for topic in sorted(per_topic):
        hits = []
        nt = n_topic[topic]
        n_other = n_all - nt
        for g, c in per_topic[topic].items():
            share = c / nt
            if share <= in_share:
                continue
            other = (total[g] - c) / n_other if n_other else 0.0
            if other < out_share:
                hits.append((" ".join(g), round(share, 3), round(other, 4)))
        report[topic] = sorted(hits, key=lambda h: -h[1])
    return report


def check(records: list[dict]) -> int:
    report = leak_report(records)
    bad = 0
    print(f"{len(records)} records; topic counts:")
    for t, c in sorted(Counter(r["topic"] for r in records).items()):
        print(f"  {t:32s} {c:6d} {c / len(records):6.1%}")
    print("\nLeaking bigrams (share in topic > 50 %, share elsewhere < 2 %):")
    for topic, hits in report.items():
        print(f"  {topic}: {len(hits)}" + ("" if not hits else "  " + "; ".join(
            f"'{g}' {s:.0%}/{o:.1%}" for g, s, o in hits)))
        bad += len(hits)
    chan = Counter(r["channel"] for r in records)
    print(f"\nchannels: {dict(chan)}; avoidable: {sum(r['avoidable'] for r in records)}; "
          f"null guideline: {sum(r['guideline_id'] is None for r in records)}; "
          f"distinct texts: {len({r['text'] for r in records})}")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--out", type=Path, help="JSON Lines output file")
    ap.add_argument("--check", action="store_true", help="print the label-leak report")
    args = ap.parse_args(argv)
    records = generate(args.n, args.seed)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {len(records)} records to {args.out}", file=sys.stderr)
    if args.check:
        check(records)
    if not args.out and not args.check:
        for r in records[:5]:
            print(json.dumps(r, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
