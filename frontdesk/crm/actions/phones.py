"""Phone numbers written the way people of one country write them ("0912 345 678",
"(555) 123-4567") made E.164 with that country's calling code: what a CSV import does for the
numbers of a file that lack a "+" when the member picks the file's default country.

No numbering plans: the national number loses the country's trunk prefix (the "0" most
countries dial before an area code; "1" in the NANP, "8" in Russia, "06" in Hungary) unless
the country keeps its leading 0 inside the international number too (Italy), and the result
must still be 7 to 15 digits. Country names are Babel's, in the member's locale.
"""

from __future__ import annotations

import re
from functools import cache

from babel import Locale, UnknownLocaleError

# ISO 3166 code:country calling code.
_CODES = """
AD:376 AE:971 AF:93 AG:1 AI:1 AL:355 AM:374 AO:244 AR:54 AS:1 AT:43 AU:61 AW:297 AX:358
AZ:994 BA:387 BB:1 BD:880 BE:32 BF:226 BG:359 BH:973 BI:257 BJ:229 BL:590 BM:1 BN:673
BO:591 BQ:599 BR:55 BS:1 BT:975 BW:267 BY:375 BZ:501 CA:1 CD:243 CF:236 CG:242 CH:41
CI:225 CK:682 CL:56 CM:237 CN:86 CO:57 CR:506 CU:53 CV:238 CW:599 CY:357 CZ:420 DE:49
DJ:253 DK:45 DM:1 DO:1 DZ:213 EC:593 EE:372 EG:20 ER:291 ES:34 ET:251 FI:358 FJ:679
FK:500 FM:691 FO:298 FR:33 GA:241 GB:44 GD:1 GE:995 GF:594 GG:44 GH:233 GI:350 GL:299
GM:220 GN:224 GP:590 GQ:240 GR:30 GT:502 GU:1 GW:245 GY:592 HK:852 HN:504 HR:385 HT:509
HU:36 ID:62 IE:353 IL:972 IM:44 IN:91 IQ:964 IR:98 IS:354 IT:39 JE:44 JM:1 JO:962 JP:81
KE:254 KG:996 KH:855 KI:686 KM:269 KN:1 KP:850 KR:82 KW:965 KY:1 KZ:7 LA:856 LB:961
LC:1 LI:423 LK:94 LR:231 LS:266 LT:370 LU:352 LV:371 LY:218 MA:212 MC:377 MD:373 ME:382
MF:590 MG:261 MH:692 MK:389 ML:223 MM:95 MN:976 MO:853 MP:1 MQ:596 MR:222 MS:1 MT:356
MU:230 MV:960 MW:265 MX:52 MY:60 MZ:258 NA:264 NC:687 NE:227 NG:234 NI:505 NL:31 NO:47
NP:977 NR:674 NU:683 NZ:64 OM:968 PA:507 PE:51 PF:689 PG:675 PH:63 PK:92 PL:48 PM:508
PR:1 PS:970 PT:351 PW:680 PY:595 QA:974 RE:262 RO:40 RS:381 RU:7 RW:250 SA:966 SB:677
SC:248 SD:249 SE:46 SG:65 SH:290 SI:386 SK:421 SL:232 SM:378 SN:221 SO:252 SR:597 SS:211
ST:239 SV:503 SX:1 SY:963 SZ:268 TC:1 TD:235 TG:228 TH:66 TJ:992 TL:670 TM:993 TN:216
TO:676 TR:90 TT:1 TV:688 TW:886 TZ:255 UA:380 UG:256 US:1 UY:598 UZ:998 VA:39 VC:1 VE:58
VG:1 VI:1 VN:84 VU:678 WF:681 WS:685 XK:383 YE:967 YT:262 ZA:27 ZM:260 ZW:263
"""
CALLING_CODES: dict[str, str] = dict(pair.split(":") for pair in _CODES.split())
# Trunk prefixes other than "0" (several: the first that matches is taken off).
TRUNK: dict[str, tuple[str, ...]] = {
    **{c: ("1",) for c, code in CALLING_CODES.items() if code == "1"},
    "RU": ("8",),
    "KZ": ("8",),
    "BY": ("8",),
    "TM": ("8",),
    "LT": ("8", "0"),
    "HU": ("06",),
    "MN": ("01", "0"),
}
# Where every national number has this many digits, the trunk prefix is taken off only from
# a number one prefix longer ("800 555 35 35" in Russia is not "8" + "00 555 35 35").
NATIONAL_DIGITS = {"1": 10, "7": 10}
# Countries whose numbers keep their leading 0 after the calling code. Elsewhere a leading 0
# is taken off, also where there is no trunk prefix (Spain, Portugal, Poland...: their
# numbers never start with 0, so it is one typed out of habit).
KEEP_ZERO = {"IT", "SM", "VA", "CI", "GA"}


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
    it cannot be one (letters, too short or too long, an unknown country)."""
    code = CALLING_CODES.get(country.upper())
    text = raw.strip()
    if not code or not text or re.search(r"[^\d\s().\-/]", text):
        return ""
    national = re.sub(r"\D", "", text)
    country = country.upper()
    trunks = () if country in KEEP_ZERO else TRUNK.get(country, ("0",))
    for trunk in trunks:
        expected = NATIONAL_DIGITS.get(code)
        if expected and len(national) != expected + len(trunk):
            continue
        if national.startswith(trunk):
            national = national[len(trunk) :]
            break
    if len(national) < 4 or not 7 <= len(code) + len(national) <= 15:
        return ""
    return f"+{code}{national}"
