"""Country names as people write them → ISO 3166-1 alpha-2 codes, from `pycountry`.

"US", "USA", "U.S.", "United States", "united states of america" → "US".
Every ISO 3166-1 country is known by its alpha-2, alpha-3, numeric code,
name, official name and common name; a few exonyms that ISO lacks are added.
"""

from __future__ import annotations

import functools
import re

# Names in everyday use that ISO 3166 does not list.
_EXONYMS = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "brasil": "BR",
    "deutschland": "DE",
    "nippon": "JP",
    "nihon": "JP",
    # ISO 3166 reserves ZZ for user assignment; CLDR and the mesh use it for "unknown".
    "zz": "ZZ",
    "unknown": "ZZ",
}
UNKNOWN = "ZZ"


@functools.cache
def iso_alpha2_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code, and ZZ (unknown)."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries) | {UNKNOWN}


@functools.lru_cache(maxsize=4096)
def iso_country_code(text: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country as written, or None when unknown."""
    if text is None:
        return None
    import pycountry

    cleaned = re.sub(r"\s+", " ", text.strip())
    if not cleaned:
        return None
    candidates = [cleaned, cleaned.replace(".", "").replace(" ", "") if "." in cleaned else cleaned]
    for candidate in candidates:
        if exonym := _EXONYMS.get(candidate.lower()):
            return exonym
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            continue
    return None
