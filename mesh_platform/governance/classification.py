"""A first classification for a column nobody has classified yet: a guess from its name, for a person to review.

A column whose name says it holds something about a person (an e-mail, a phone number, a
person's name, an address, a birth date, an identity number…) is guessed `personal`, so
that readers outside the domain see it masked until someone decides otherwise; every
other column is guessed `internal`. `mesh new --from` writes the guess with a comment on
its line saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

# Words of a column name that say it holds personal data.
PERSONAL_WORDS = frozenset(
    {
        "email",
        "mail",
        "phone",
        "mobile",
        "fax",
        "address",
        "street",
        "zip",
        "zipcode",
        "postcode",
        "postal",
        "birth",
        "birthday",
        "birthdate",
        "dob",
        "ssn",
        "passport",
        "iban",
        "ip",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "username",
        "gender",
        "latitude",
        "longitude",
    }
)
# `name` is personal when it is the whole name or names a person.
PERSON_WORDS = frozenset(
    {
        "first",
        "last",
        "full",
        "given",
        "family",
        "middle",
        "maiden",
        "customer",
        "user",
        "contact",
        "person",
        "owner",
        "employee",
    }
)


@dataclass(frozen=True)
class ClassificationGuess:
    classification: str
    reason: str  # said beside the guess, for the reviewer


def guess_classification(column: str) -> ClassificationGuess:
    """`personal` when the column's name says it is about a person, else `internal`; with why."""
    words = column.lower().replace("-", "_").split("_")
    if hit := next((w for w in words if w in PERSONAL_WORDS), None):
        return ClassificationGuess("personal", f"guessed from the name ('{hit}'): review")
    if "name" in words and (words == ["name"] or PERSON_WORDS & set(words)):
        return ClassificationGuess("personal", "guessed from the name (a person's name): review")
    return ClassificationGuess("internal", "guessed: review (personal, confidential, public?)")
