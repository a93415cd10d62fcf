import pytest

from classifier.redact import Redactor, hetu_is_valid, redact


@pytest.mark.parametrize("code", ["131052-308T", "010594Y9032", "010594Y9021", "020502A902X", "111111-111C", "010101-900R"])
def test_valid_hetu(code):
    assert hetu_is_valid(code)
    assert redact(f"hetu {code} ok") == "hetu [HETU] ok"


@pytest.mark.parametrize("code", ["131052-308U", "311352-308T", "131052G308T", "131052-001T"])
def test_invalid_hetu_is_kept(code):
    assert not hetu_is_valid(code)
    assert code in redact(f"hetu {code}")


@pytest.mark.parametrize("phone", ["040 123 4567", "0401234567", "+358 40 123 4567", "+35840-1234567", "050-1234567",
                                   "09 123 4567", "(09) 1234 567", "014 123 456"])
def test_phone_numbers(phone):
    assert redact(f"soita {phone} kiitos") == "soita [PUHELIN] kiitos"


def test_email_iban_customer_contract_metering():
    out = redact("matti.m@example.fi, tili FI21 1234 5600 0007 85, asnro 1234567, sopnro: 99887766, kp 643000000000123456")
    assert out == "[EMAIL], tili [IBAN], asnro [ASIAKASNRO], sopnro: [SOPIMUSNRO], kp [KAYTTOPAIKKA]"


def test_dates_and_amounts_are_not_phone_numbers():
    assert redact("muutto 1.10.2016 klo 12.30, 45,50 €") == "muutto 1.10.2016 klo 12.30, 45,50 €"


def test_configurable_customer_pattern():
    r = Redactor(customer_pattern=r"(?i)KN-(\d{6})")
    assert r.redact("asiakas KN-123456") == "asiakas KN-[ASIAKASNRO]"
    assert r.counts("KN-123456 ja 040 1234567") == {"customer": 1, "phone": 1}


def test_identifiers_glued_to_non_ascii_letters_are_redacted():
    # junk bytes read as cp1252 ("Ã") or a Finnish letter right after a code must not hide it
    r = Redactor()
    assert r.redact("FI21 1234 5600 0007 85Ã") == "[IBAN]Ã"
    assert r.redact("ÃFI21 1234 5600 0007 85") == "Ã[IBAN]"
    assert r.redact("131052-308Tä ja Ã131052-308T") == "[HETU]ä ja Ã[HETU]"


def test_a_date_time_is_not_a_phone_number():
    r = Redactor()
    for t in ("Lähetetty 2016-09-05 10:12:00 asiakkaalle", "aika 2016-09-05 10:12", "2016-09-05 10:12:33+03:00"):
        assert r.redact(t) == t
    assert r.redact("numero 050 1234567, lähetetty 2016-09-05 10:12") == "numero [PUHELIN], lähetetty 2016-09-05 10:12"
    assert r.redact("soita 09-123 4567") == "soita [PUHELIN]"
