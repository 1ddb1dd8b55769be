"""Address import: BAL 1.3 (the format communes publish), BAN CSV (23 or 20 columns) and a simple
Proactif CSV. Upserts by `cle_interop`; when a BAL lists several positions for one address, the
best one is kept (entrée, then délivrance postale, bâtiment, cage d'escalier, logement, …)."""

from __future__ import annotations

from typing import Any

from proactif.kernel import clock
from proactif.kernel.text import search_key
from proactif.registry import domain
from proactif.registry._csvfiles import CsvFile
from proactif.registry._importers import (
    Column,
    Counts,
    HeaderError,
    ParsedLine,
    Rejection,
    changed,
    require_columns,
    required_of,
)
from proactif.registry.domain import FieldError
from proactif.registry.models import Address, Quartier, Voie

POSITION_RANK = {"entrée": 0, "entree": 0, "délivrance postale": 1, "delivrance postale": 1, "bâtiment": 2,
                 "batiment": 2, "cage d'escalier": 3, "logement": 4, "parcelle": 5, "segment": 6,
                 "service technique": 7}

FORMATS: dict[str, dict[str, str]] = {
    # our field -> column name, per format
    "bal": {"key": "cle_interop", "insee": "commune_insee", "commune": "commune_nom", "voie": "voie_nom",
            "complement": "lieudit_complement_nom", "numero": "numero", "suffixe": "suffixe", "lon": "long",
            "lat": "lat", "position": "position", "code_postal": ""},
    "ban": {"key": "id", "insee": "code_insee", "commune": "nom_commune", "voie": "nom_voie", "complement": "nom_ld",
            "numero": "numero", "suffixe": "rep", "lon": "lon", "lat": "lat", "position": "type_position",
            "code_postal": "code_postal"},
    "proactif": {"key": "cle_interop", "insee": "code_insee", "commune": "commune", "voie": "voie",
                 "complement": "complement", "numero": "numero", "suffixe": "suffixe", "lon": "lon", "lat": "lat",
                 "position": "", "code_postal": "code_postal"},
}

REQUIRED_FIELDS = ("key", "insee", "voie", "numero")  # in every format

# The Proactif format, as the import page lists it and its sample file holds it (BAL and BAN files are read as
# published)
COLUMNS = (
    Column("cle_interop", "clé d'interopérabilité : INSEE_voie_numéro (comme dans la BAL), unique dans le fichier",
           ("75056_exemple_00001", "75056_exemple_00003"), required=True),
    Column("code_insee", "code INSEE de la commune (5 caractères)", ("75056", "75056"), required=True),
    Column("commune", "nom de la commune", ("Paris", "Paris")),
    Column("voie", "nom de la voie", ("Rue de l'Exemple", "Rue de l'Exemple"), required=True),
    Column("complement", "lieu-dit ou complément", ("", "")),
    Column("numero", "numéro dans la voie (nombre entier) ; vide pour un lieu-dit", ("1", "3"), required=True),
    Column("suffixe", "bis, ter, a, b…", ("", "bis")),
    Column("code_postal", "code postal (5 chiffres)", ("75015", "75015")),
    Column("lon", "longitude en degrés décimaux (WGS 84)", ("2.2945", "2.2951")),
    Column("lat", "latitude en degrés décimaux (WGS 84)", ("48.8422", "48.8424")),
)


class QuartierLocator:
    """Point-in-polygon lookup over the quartiers of the registry (shapely STRtree)."""

    def __init__(self) -> None:
        from shapely import STRtree
        from shapely.geometry import shape

        quartiers = list(Quartier.objects.values_list("id", "geometry"))
        self._ids = [q[0] for q in quartiers]
        self._tree = STRtree([shape(q[1]) for q in quartiers]) if quartiers else None

    def locate(self, lon: float | None, lat: float | None) -> int | None:
        if self._tree is None or lon is None or lat is None:
            return None
        from shapely.geometry import Point

        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        return self._ids[int(hits[0])] if len(hits) else None


class AddressImporter:
    kind = "addresses"
    section = ""  # address points are not personal data
    columns = COLUMNS
    required_columns = required_of(COLUMNS)  # in the Proactif format; BAL and BAN have theirs (check_header)

    def __init__(self) -> None:
        self.format = "proactif"
        self.names = FORMATS["proactif"]
        self.chosen_lines: dict[str, int] = {}
        self.locator: QuartierLocator | None = None

    def check_header(self, header: list[str]) -> None:
        if "cle_interop" in header and "voie_nom" in header:
            self.format = "bal"
        elif "id" in header and "nom_voie" in header:
            self.format = "ban"
        elif "cle_interop" in header:
            self.format = "proactif"
        else:
            raise HeaderError("format d'adresses non reconnu : BAL 1.3 (cle_interop;…;voie_nom;…), "
                              "BAN (id;…;nom_voie;…) ou Proactif (cle_interop;voie;numero;…)")
        self.names = FORMATS[self.format]
        require_columns(header, [self.names[k] for k in REQUIRED_FIELDS])

    def prepare(self, csv_file: CsvFile) -> None:
        """Choose, for each address key, the line with the best position. A format without positions lists an
        address once: a key found twice there is a line in error (rejected as such), not another position."""
        best: dict[str, tuple[int, int]] = {}
        key_col, pos_col = self.names["key"], self.names["position"]
        for line, row in csv_file.rows() if pos_col else ():
            key = row.get(key_col, "").strip().lower()
            rank = POSITION_RANK.get(row.get(pos_col, "").strip().lower(), 9) if pos_col else 0
            if key and (key not in best or rank < best[key][0]):
                best[key] = (rank, line)
        self.chosen_lines = {key: line for key, (_, line) in best.items()}
        self.locator = QuartierLocator()

    def parse(self, line: int, row: dict[str, str]) -> ParsedLine | None:
        c = self.names
        key = domain.clean_cle_interop(c["key"], row.get(c["key"], ""))
        if self.chosen_lines.get(key, line) != line:
            return None  # another position of the same address was preferred
        insee = domain.code_insee(c["insee"], row.get(c["insee"], ""), required=True)
        voie = " ".join(row.get(c["voie"], "").split())
        if not voie:
            raise FieldError(c["voie"], "nom de voie obligatoire")
        code_postal = row.get(c["code_postal"], "").strip() if c["code_postal"] else ""
        if code_postal and not (len(code_postal) == 5 and code_postal.isdigit()):
            raise FieldError(c["code_postal"], f"code postal invalide « {code_postal[:10]} »")
        lon = domain.parse_coordinate(c["lon"], row.get(c["lon"], ""), -180, 180)
        lat = domain.parse_coordinate(c["lat"], row.get(c["lat"], ""), -90, 90)
        return ParsedLine(line, key, {
            "cle_interop": key, "code_insee": insee, "commune": row.get(c["commune"], "").strip()[:200],
            "voie": voie[:200], "complement": row.get(c["complement"], "").strip()[:200],
            "numero": domain.parse_numero(c["numero"], row.get(c["numero"], "")),
            "suffixe": row.get(c["suffixe"], "").strip().lower()[:10], "code_postal": code_postal,
            "lon": lon, "lat": lat})

    def apply(self, batch: list[ParsedLine]) -> tuple[Counts, list[Rejection]]:
        counts = Counts()
        now = clock.now()
        voies = ensure_voies({(p.data["code_insee"], p.data["voie"]) for p in batch})
        existing = Address.objects.in_bulk([p.key for p in batch], field_name="cle_interop")
        to_create, to_update = [], []
        for parsed in batch:
            d = parsed.data
            assert self.locator is not None
            values: dict[str, Any] = {
                "voie_id": voies[(d["code_insee"], search_key(d["voie"]))], "numero": d["numero"],
                "suffixe": d["suffixe"], "complement": d["complement"], "code_insee": d["code_insee"],
                "commune": d["commune"], "lon": d["lon"], "lat": d["lat"],
                "quartier_id": self.locator.locate(d["lon"], d["lat"])}
            if d["code_postal"]:
                values["code_postal"] = d["code_postal"]
            address = existing.get(parsed.key)
            if address is None:
                to_create.append(Address(cle_interop=parsed.key, source=self.format, updated_at=now, **values))
                counts.created += 1
            elif changed(address, values):
                address.updated_at = now
                to_update.append(address)
                counts.updated += 1
            else:
                counts.unchanged += 1
        Address.objects.bulk_create(to_create)
        if to_update:
            Address.objects.bulk_update(to_update, ["voie_id", "numero", "suffixe", "complement", "code_insee",
                                                    "commune", "lon", "lat", "quartier_id", "code_postal",
                                                    "updated_at"])
        return counts, []


def ensure_voies(names: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Voie ids by (code INSEE, normalised name), creating the missing streets."""
    wanted = {(insee, search_key(nom)): nom for insee, nom in names}
    found = {(v.code_insee, v.cle): v.pk for v in
             Voie.objects.filter(cle__in={k[1] for k in wanted}, code_insee__in={k[0] for k in wanted})}
    missing = [Voie(code_insee=insee, nom=nom, cle=cle) for (insee, cle), nom in wanted.items()
               if (insee, cle) not in found]
    if missing:
        Voie.objects.bulk_create(missing)
        found.update({(v.code_insee, v.cle): v.pk for v in
                      Voie.objects.filter(cle__in={v.cle for v in missing},
                                          code_insee__in={v.code_insee for v in missing})})
    return found

