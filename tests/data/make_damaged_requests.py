"""Build tests/data/damaged_requests.jsonl (run from the repository root): realistic requests with known topics, each damaged the way ticket-system exports are (HTML remnants and entities, UTF-8 read as cp1252, all caps with missing spaces)."""
import html, json
CLEAN = [
 ("sopimuksen_tekeminen", "Asiakas muuttaa 1.10. uuteen osoitteeseen Tampereelle ja haluaa tehdä sähkösopimuksen uuteen asuntoon. Miten saan sopimuksen tallennettua, kun käyttöpaikkaa ei löydy?"),
 ("sopimuksen_tekeminen", "Uusi asiakas haluaisi tehdä määräaikaisen sopimuksen, mutta järjestelmä ei anna valita aloituspäivää. Voitteko tehdä sopimuksen puolestani?"),
 ("sopimuksen_paattaminen", "Asiakas on muuttamassa ulkomaille ja haluaa irtisanoa sähkösopimuksen 31.10. alkaen. Miten irtisanominen tehdään, kun asiakas ei pääse kirjautumaan?"),
 ("sopimuksen_paattaminen", "Kuolinpesän puolesta soitettiin, sopimus pitäisi päättää. Tarvitaanko virkatodistus ennen kuin sopimus voidaan lopettaa?"),
 ("vahvistuksen_uudelleenlahetys", "Asiakas ei ole saanut sopimusvahvistusta postissa. Voisitteko lähettää vahvistuksen uudelleen sähköpostilla?"),
 ("vahvistuksen_uudelleenlahetys", "Pyydän lähettämään tilausvahvistuksen uudestaan, edellinen meni vanhaan osoitteeseen."),
 ("voimassa_oleva_sopimus", "Asiakas haluaa vaihtaa voimassa olevan sopimuksensa laskutusosoitteen ja tarkistaa, mikä tuote hänellä nyt on."),
 ("voimassa_oleva_sopimus", "Asiakkaan nykyinen sopimus on toistaiseksi voimassa. Voiko sen muuttaa kiinteähintaiseksi kesken kauden?"),
 ("reklamaatio", "Asiakas on todella tyytymätön: hänelle luvattiin kampanjahinta, mutta laskulla on normaali hinta. Vaatii hyvitystä."),
 ("reklamaatio", "Asiakas valittaa, että myyjä soitti ja teki sopimuksen ilman lupaa. Haluaa tehdä virallisen valituksen."),
 ("sahkoiset_palvelut", "Asiakas ei pääse kirjautumaan Oma-palveluun, salasanan vaihto ei toimi eikä e-lasku näy verkkopankissa."),
 ("sahkoiset_palvelut", "Miten asiakas saa sähköisen asiointipalvelun tunnukset? Rekisteröinti antaa virheilmoituksen."),
 ("tuotteet_ja_hinnastot", "Mikä on tämänhetkinen hinta pörssisähkölle ja onko syyskuun kampanja vielä voimassa?"),
 ("tuotteet_ja_hinnastot", "Asiakas kysyy vihreän sähkön hintaa ja perusmaksua. Mistä löydän uuden hinnaston?"),
 ("kulutusneuvonta", "Asiakkaan sähkönkulutus on noussut talvella. Kysyy, miten lämpöpumppua kannattaa käyttää, jotta säästäisi sähköä."),
 ("selvityspyynto", "Sopimus on tallentunut järjestelmään kahteen kertaan. Voitteko selvittää, kumpi on oikea, ja poistaa ylimääräisen?"),
 ("ohjeistus", "Mistä löydän ohjeen siihen, miten asiakkaalle tehdään maksusuunnitelma? En löydä sitä intrasta."),
 ("vaara_vastaanottaja", "Asiakas kysyy laskun eräpäivän siirrosta ja maksumuistutuksesta. Laskun eräpäivä on jo mennyt."),
]

def html_entities(t):
    parts = t.split(". ")
    return "<div>" + "<br>".join(html.escape(p).replace("ä", "&auml;").replace("ö", "&ouml;").replace(" ", "&nbsp;", 2) for p in parts) + "</div>"

def mojibake(t):
    return t.encode("utf-8").decode("cp1252", errors="replace")

def caps_glued(t):
    return t.upper().replace(". ", ".").replace(", ", ",").replace("? ", "?")

def html_mojibake(t):
    return "<p>" + mojibake(t).replace(". ", ".<br/>") + "</p>&nbsp;"

DAMAGE = [("html", html_entities), ("mojibake", mojibake), ("caps_glued", caps_glued), ("html_mojibake", html_mojibake)]
with open("tests/data/damaged_requests.jsonl", "w", encoding="utf-8") as fh:
    for i, (topic, text) in enumerate(CLEAN):
        name, f = DAMAGE[i % len(DAMAGE)]
        fh.write(json.dumps({"id": f"d{i + 1}", "topic": topic, "damage": name, "clean": text, "text": f(text)}, ensure_ascii=False) + "\n")
