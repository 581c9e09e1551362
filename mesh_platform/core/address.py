"""Product addresses: `mesh://<domain>/<product>[@v<major>]`.

The address is the one name of a product everywhere: CLI, inputs of other
products, catalog. It maps to the Dagster asset key `[domain, product]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from mesh_platform.core.errors import AddressError

SCHEME = "mesh://"
NAME_PATTERN = r"[a-z][a-z0-9_]*"
_ADDRESS = re.compile(rf"^mesh://(?P<domain>{NAME_PATTERN})/(?P<product>{NAME_PATTERN})(?:@v(?P<major>\d+))?$")


@dataclass(frozen=True, order=True)
class Address:
    domain: str
    product: str
    major: int | None = None
    json_text: ClassVar[bool] = True  # written as its text (mesh://sales/orders) in JSON: core.json_values

    @classmethod
    def parse(cls, text: str) -> Address:
        match = _ADDRESS.match(text.strip())
        if not match:
            raise AddressError(
                f"'{text}' is not a product address; write mesh://<domain>/<product> "
                "or mesh://<domain>/<product>@v<major> (lowercase names: letters, digits, _)"
            )
        major = match["major"]
        return cls(match["domain"], match["product"], int(major) if major else None)

    @property
    def asset_key_path(self) -> list[str]:
        return [self.domain, self.product]

    def unversioned(self) -> Address:
        return self if self.major is None else Address(self.domain, self.product)

    def at_major(self, major: int) -> Address:
        return Address(self.domain, self.product, major)

    def __str__(self) -> str:
        suffix = f"@v{self.major}" if self.major is not None else ""
        return f"{SCHEME}{self.domain}/{self.product}{suffix}"
