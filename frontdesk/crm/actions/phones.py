"""Phone numbers written the way people of one country write them ("0912 345 678",
"(555) 123-4567") made E.164 with that country's calling code: what a CSV import does for the
numbers of a file that lack a "+" when the member picks the file's default country.

The country's numbering plan is Google's libphonenumber's (the ``phonenumbers`` package):
its trunk prefix goes ("0" most places, "1" in the NANP, "8" in Russia, "06" in Hungary;
Italy keeps its 0), and a number already written with the country's code but no "+"
("351912345678" for Portugal) keeps that code once instead of getting it twice. A leading 0
typed out of habit where the country has no trunk prefix (Portugal's "0911 000 222") goes
too. Country names are Babel's, in the member's locale.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from babel import Locale, UnknownLocaleError

# ISO 3166 code: country calling code, for every country libphonenumber knows.
CALLING_CODES: dict[str, str] = {
    region: str(phonenumbers.country_code_for_region(region))
    for region in phonenumbers.SUPPORTED_REGIONS
}


@cache
def country_choices(locale: str = "en") -> list[tuple[str, str]]:
    """(code, "Portugal (+351)") for every country, by name in ``locale``."""
    try:
        names = Locale.parse(locale or "en").territories
    except (UnknownLocaleError, ValueError):
        names = Locale.parse("en").territories
    return sorted(
        ((c, f"{names.get(c, c)} (+{code})") for c, code in CALLING_CODES.items()),
        key=lambda item: item[1].casefold(),
    )


def country_name(country: str, locale: str = "en") -> str:
    """ "Portugal (+351)"; "" for an unknown code."""
    return dict(country_choices(locale)).get(country.upper(), "")


def with_country(raw: str, country: str) -> str:
    """A number written without its country code, in E.164 with ``country``'s code; "" when
    it cannot be one (letters, not a possible number of the country, an unknown country)."""
    country = country.upper()
    text = raw.strip()
    if country not in CALLING_CODES or not text or re.search(r"[^\d\s().\-/]", text):
        return ""
    digits = re.sub(r"\D", "", text)
    for national in (digits, digits[1:] if digits.startswith("0") else ""):
        try:
            number = phonenumbers.parse(national, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""
