"""API Impôt Particulier (DGFiP) client: the income-tax situation of a tax household for a year of income —
reference tax income (RFR), tax shares, dependants, declarants, income boxes, tax address.

Keyed by the numéro fiscal (SPI) of a declarant, or by the person's FranceConnect consent token
(`X-FranceConnect-OAuth`). Every request carries the bearer token (OAuth 2 client credentials), a UUID
`X-Correlation-ID` and the calling service's `ID_Teleservice`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from proactif.connectors import domain
from proactif.connectors._transport import Transport

MEDIA_TYPE = "application/prs.dgfip.part.situations.ir.assiettes.v1+json"


@dataclass(frozen=True)
class TaxSituation:
    annrev: int
    rfr: int | None
    nb_parts: float | None
    nb_pac: int | None
    situation_famille: str
    revenu_brut_global: int | None
    revenu_imposable: int | None
    impot: int | None
    raw: dict[str, Any]


def situation(data: dict[str, Any], annrev: int) -> TaxSituation:
    return TaxSituation(annrev, data.get("rfr"), data.get("nbPart"), (data.get("pac") or {}).get("nbPac"),
                        str(data.get("sitFam") or ""), data.get("revenuBrutGlobal"), data.get("revImposable"),
                        data.get("montTotIr"), data)


class ApiImpotParticulier:
    def __init__(self, transport: Transport, token: str, teleservice: str):
        self.transport = transport
        self.token = token
        self.teleservice = teleservice

    def situation_ir(self, annrev: int, context: domain.CallContext, *, spi: str | None = None,
                     france_connect_token: str | None = None) -> TaxSituation:
        if spi:
            if not (spi.isdigit() and len(spi) == 13):
                raise ValueError(f"numéro fiscal invalide : « {spi} » (13 chiffres)")
            path = f"/spi/{spi}/situations/ir/assiettes/annrev/{annrev}"
        elif france_connect_token:
            path = f"/situations/ir/assiettes/annrev/{annrev}"
        else:
            raise ValueError("indiquez un numéro fiscal ou un jeton FranceConnect")
        headers = {"Authorization": f"Bearer {self.token}", "X-Correlation-ID": str(uuid.uuid4()),
                   "ID_Teleservice": self.teleservice, "Accept": MEDIA_TYPE}
        if france_connect_token and not spi:
            headers["X-FranceConnect-OAuth"] = france_connect_token
        body, _, _ = self.transport.get(path, [], headers, context, "situation_ir")
        return situation(body, annrev)
