"""Resident import. One line per person; `id_foyer` groups people into households.

A line whose `id_externe` is unknown is matched deterministically before a new person is created:
by NIR, then by identité pivot (nom de naissance, premier prénom, sexe, date de naissance), then by
e-mail or phone together with the date of birth. A match links the new identifier to the existing
person (as an alias) instead of creating a duplicate. An e-mail or phone and birth date shared by people
whose names disagree (a family phone, twins) is not a match: the line becomes a new person and the pair a
duplicate suggestion for an agent to decide — an import never overwrites one person with another.
"""

from __future__ import annotations

from typing import Any

from proactif.kernel import capabilities, clock
from proactif.kernel.logging import get_logger
from proactif.kernel.text import search_key
from proactif.registry import _linkage as linkage
from proactif.registry import domain
from proactif.registry._csvfiles import CsvFile
from proactif.registry._importers import Column, Counts, ParsedLine, Rejection, changed, require_columns, required_of
from proactif.registry.domain import FieldError
from proactif.registry.models import (
    Address,
    ChannelPreference,
    ContactPoint,
    Famille,
    FoyerFiscal,
    Household,
    MergeSuggestion,
    Person,
    PersonAlias,
)

log = get_logger(__name__)

STATUS = {"": "active", "resident": "active", "résident": "active", "actif": "active", "active": "active",
          "parti": "moved_out", "demenage": "moved_out", "déménagé": "moved_out", "moved_out": "moved_out",
          "decede": "deceased", "décédé": "deceased", "deceased": "deceased"}
MENAGE_ROLES = {"": "personne_de_reference", "personne_de_reference": "personne_de_reference",
                "reference": "personne_de_reference", "conjoint": "conjoint", "enfant": "enfant", "autre": "autre"}
FAMILY_ROLES = {"personne_de_reference": ("parent", "declarant"), "conjoint": ("parent", "declarant"),
                "enfant": ("enfant", "personne_a_charge")}
PERSON_FIELDS = ["nom_naissance", "nom_usage", "prenoms", "sexe", "date_naissance", "code_insee_naissance",
                 "lieu_naissance", "nir", "status", "status_changed_on", "nom_cle", "usage_cle", "prenoms_cle",
                 "household_id", "menage_role", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_role"]


DATE = "date JJ/MM/AAAA ou AAAA-MM-JJ"
COLUMNS = (
    Column("id_externe", "identifiant de la personne dans le logiciel source (64 caractères au plus), unique dans "
                         "le fichier", ("EXEMPLE-0001", "EXEMPLE-0002"), required=True),
    Column("nom_naissance", "nom de naissance", ("EXEMPLE", "EXEMPLE"), required=True),
    Column("nom_usage", "nom d'usage, s'il diffère", ("MARTIN", "")),
    Column("prenoms", "prénoms, séparés par des espaces", ("Camille Marie", "Léo"), required=True),
    Column("sexe", "F ou M", ("F", "M"), required=True),
    Column("date_naissance", DATE, ("14/03/1984", "2015-09-02"), required=True),
    Column("code_insee_naissance", "code INSEE de la commune de naissance (5 caractères)", ("75115", "")),
    Column("lieu_naissance", "commune ou pays de naissance, en clair", ("Paris 15e", "")),
    Column("nir", "NIR à 15 caractères, clé comprise, cohérent avec le sexe et l'année de naissance",
           (domain.nir_with_key("2840375115123"), "")),
    Column("email", "adresse électronique", ("camille.exemple@example.org", "")),
    Column("telephone", "numéro de téléphone, national ou international", ("06 12 34 56 78", "")),
    Column("adresse_postale", "adresse de courrier, si ce n'est pas celle du logement : lignes séparées par | "
                              "(6 au plus, 38 caractères chacune)",
           ("CAMILLE MARTIN|BOITE POSTALE 12|75015 PARIS", "")),
    Column("canaux", "canaux préférés dans l'ordre, séparés par > (sms, email, letter, push…)", ("sms>email", "")),
    Column("id_foyer", "identifiant du foyer : les personnes qui vivent ensemble ont le même",
           ("FOYER-EXEMPLE-1", "FOYER-EXEMPLE-1")),
    Column("role_menage", "personne_de_reference (si vide), conjoint, enfant ou autre",
           ("personne_de_reference", "enfant")),
    Column("cle_interop", "clé d'interopérabilité de l'adresse du logement (déjà importée)",
           ("75056_exemple_00001", "75056_exemple_00001")),
    Column("logement", "précision sur le logement (bâtiment, étage…)", ("Bât. A, 3e étage", "")),
    Column("statut", "resident (si vide), parti ou decede", ("resident", "")),
    Column("date_statut", f"{DATE} : date du départ ou du décès", ("", "")),
)


class ResidentImporter:
    kind = "residents"
    section = "identite"
    columns = COLUMNS
    required_columns = required_of(COLUMNS)

    def check_header(self, header: list[str]) -> None:
        require_columns(header, self.required_columns)

    def prepare(self, csv_file: CsvFile) -> None:
        self.today = clock.today()

    def parse(self, line: int, row: dict[str, str]) -> ParsedLine | None:
        if row.get("__extra__"):
            raise FieldError("ligne", f"{row['__extra__']} colonne(s) de trop (séparateur dans une valeur ?)")
        external_id = row.get("id_externe", "").strip()
        if not external_id or len(external_id) > 64:
            raise FieldError("id_externe", "identifiant obligatoire (64 caractères au plus)")
        sexe = domain.parse_sexe("sexe", row.get("sexe", ""))
        born = domain.parse_birth_date("date_naissance", row.get("date_naissance", ""), self.today)
        if born is None:
            raise FieldError("date_naissance", "date de naissance obligatoire")
        status = STATUS.get(row.get("statut", "").strip().lower())
        if status is None:
            raise FieldError("statut", f"statut inconnu « {row.get('statut', '')[:20]} » (resident, parti, decede)")
        role = MENAGE_ROLES.get(row.get("role_menage", "").strip().lower())
        if role is None:
            raise FieldError("role_menage", f"rôle inconnu « {row.get('role_menage', '')[:20]} » "
                                            "(personne_de_reference, conjoint, enfant, autre)")
        phone = domain.normalise_phone("telephone", row.get("telephone", ""))
        data: dict[str, Any] = {
            "external_id": external_id,
            "nom_naissance": domain.clean_name("nom_naissance", row.get("nom_naissance", "")),
            "nom_usage": domain.clean_name("nom_usage", row.get("nom_usage", ""), required=False),
            "prenoms": domain.clean_prenoms("prenoms", row.get("prenoms", "")),
            "sexe": sexe, "date_naissance": born,
            "code_insee_naissance": domain.code_insee("code_insee_naissance", row.get("code_insee_naissance", "")),
            "lieu_naissance": " ".join(row.get("lieu_naissance", "").split())[:200],
            "nir": domain.normalise_nir("nir", row.get("nir", ""), sexe=sexe, born=born),
            "email": domain.normalise_email("email", row.get("email", "")),
            "phone": phone,
            "postal": domain.clean_postal_address("adresse_postale", row.get("adresse_postale", "")),
            "channels": domain.parse_channels("canaux", row.get("canaux", ""), capabilities.channels()),
            "household": row.get("id_foyer", "").strip()[:64] or None,
            "menage_role": role,
            "cle_interop": domain.clean_cle_interop("cle_interop", row["cle_interop"])
            if row.get("cle_interop") else None,
            "logement": row.get("logement", "").strip()[:100],
            "status": status,
            "status_changed_on": domain.parse_date("date_statut", row.get("date_statut", "")),
        }
        return ParsedLine(line, external_id, data)

    # --- applying a batch --------------------------------------------------------------------
    def apply(self, batch: list[ParsedLine]) -> tuple[Counts, list[Rejection]]:
        counts = Counts()
        rejections: list[Rejection] = []
        now = clock.now()
        addresses = dict(Address.objects.filter(
            cle_interop__in={p.data["cle_interop"] for p in batch if p.data["cle_interop"]}
        ).values_list("cle_interop", "id"))
        accepted = []
        for parsed in batch:
            if parsed.data["cle_interop"] and parsed.data["cle_interop"] not in addresses:
                rejections.append(Rejection(parsed.line, "cle_interop",
                                            f"adresse inconnue « {parsed.data['cle_interop']} » : importez "
                                            "d'abord le fichier d'adresses"))
            else:
                accepted.append(parsed)
        households = self._households(accepted, addresses, now)
        self.suspects: dict[str, list[Person]] = {}
        matches = self._resolve(accepted)
        created_nirs: dict[str, Person] = {}
        for parsed in accepted:
            d = parsed.data
            person, alias = matches.get(parsed.key, (None, False))
            if person is None and d["nir"] and d["nir"] in created_nirs:
                person, alias = created_nirs[d["nir"]], True
            values = self._person_values(d, households)
            if person is None:
                person = Person(external_id=d["external_id"], source="import", updated_at=now, **values)
                person.save()
                if d["nir"]:
                    created_nirs[d["nir"]] = person
                outcome = "created"
            else:
                if not d["nir"]:
                    values.pop("nir")  # a source without the NIR does not erase a known one
                dirty = changed(person, values)
                if alias:
                    if person.external_id is None:
                        person.external_id = d["external_id"]
                    else:
                        PersonAlias.objects.get_or_create(external_id=d["external_id"], defaults={
                            "person": person, "source": "import", "created_at": now})
                    dirty = True
                if dirty:
                    person.updated_at = now
                    person.save()
                outcome = "updated" if dirty else "unchanged"
            if outcome == "created" and parsed.key in self.suspects:
                self._suggest(person, d, self.suspects[parsed.key], now)
            if self._contacts(person, d, now) and outcome == "unchanged":
                outcome = "updated"
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            if outcome != "unchanged":
                counts.touched.append(person.pk)
        return counts, rejections

    def _person_values(self, d: dict[str, Any], households: dict[str, tuple[Household, Famille, FoyerFiscal]]) -> (
            dict[str, Any]):
        values = {name: d[name] for name in ("nom_naissance", "nom_usage", "prenoms", "sexe", "date_naissance",
                                             "code_insee_naissance", "lieu_naissance", "nir", "status",
                                             "status_changed_on")}
        values.update(nom_cle=search_key(d["nom_naissance"]), usage_cle=search_key(d["nom_usage"]),
                      prenoms_cle=search_key(d["prenoms"]))
        if d["household"]:
            household, famille, foyer = households[d["household"]]
            famille_role, foyer_role = FAMILY_ROLES.get(d["menage_role"], ("", ""))
            values.update(household_id=household.pk, menage_role=d["menage_role"])
            if famille_role:
                values.update(famille_id=famille.pk, famille_role=famille_role, foyer_fiscal_id=foyer.pk,
                              foyer_role=foyer_role)
        return values

    def _households(self, batch: list[ParsedLine], addresses: dict[str, int], now: Any) -> (
            dict[str, tuple[Household, Famille, FoyerFiscal]]):
        keys = {p.data["household"] for p in batch if p.data["household"]}
        found = {h.external_id: h for h in Household.objects.filter(external_id__in=keys)}
        result: dict[str, tuple[Household, Famille, FoyerFiscal]] = {}
        familles = {f.household_id: f for f in Famille.objects.filter(household__in=found.values()).order_by("-id")}
        foyers = {f.household_id: f for f in FoyerFiscal.objects.filter(household__in=found.values()).order_by("-id")}
        for parsed in batch:
            key = parsed.data["household"]
            if not key:
                continue
            address_id = addresses.get(parsed.data["cle_interop"]) if parsed.data["cle_interop"] else None
            household = found.get(key)
            if household is None:
                household = Household.objects.create(external_id=key, address_id=address_id,
                                                     logement=parsed.data["logement"], updated_at=now)
                found[key] = household
            elif address_id and (household.address_id != address_id or household.logement != parsed.data["logement"]):
                household.address_id, household.logement = address_id, parsed.data["logement"]
                household.updated_at = now
                household.save(update_fields=["address", "logement", "updated_at"])
            famille = familles.get(household.pk) or Famille.objects.create(household=household)
            foyer = foyers.get(household.pk) or FoyerFiscal.objects.create(household=household)
            familles[household.pk], foyers[household.pk] = famille, foyer
            result[key] = (household, famille, foyer)
        return result

    def _resolve(self, batch: list[ParsedLine]) -> dict[str, tuple[Person, bool]]:
        """Existing person for each line: (person, linked_by_deterministic_match)."""
        ids = [p.key for p in batch]
        by_id = {p.external_id: p for p in Person.objects.filter(external_id__in=ids)}
        for alias in PersonAlias.objects.filter(external_id__in=ids).select_related("person"):
            by_id[alias.external_id] = alias.person
        result: dict[str, tuple[Person, bool]] = {key: (person, False) for key, person in by_id.items()}
        unknown = [p for p in batch if p.key not in result]
        if not unknown:
            return result
        nirs = {p.data["nir"] for p in unknown if p.data["nir"]}
        by_nir = {p.nir: p for p in Person.objects.filter(nir__in=nirs)} if nirs else {}
        pivots: dict[tuple[str, str, str, Any], list[Person]] = {}
        for person in Person.objects.filter(nom_cle__in={search_key(p.data["nom_naissance"]) for p in unknown},
                                            date_naissance__in={p.data["date_naissance"] for p in unknown}) \
                .exclude(status__in=("merged", "anonymised")):
            key = (person.nom_cle, person.prenoms_cle.split(" ")[0], person.sexe, person.date_naissance)
            pivots.setdefault(key, []).append(person)
        contact_values = {p.data["email"] for p in unknown if p.data["email"]} | {
            p.data["phone"].e164 for p in unknown if p.data["phone"]}
        by_contact: dict[tuple[str, Any], list[Person]] = {}
        for contact in ContactPoint.objects.filter(value__in=contact_values).select_related("person"):
            person = contact.person
            by_contact.setdefault((contact.value, person.date_naissance), []).append(person)
        for parsed in unknown:
            d = parsed.data
            candidates: list[Person] = []
            if d["nir"] and d["nir"] in by_nir:
                candidates = [by_nir[d["nir"]]]
            if not candidates:
                key = (search_key(d["nom_naissance"]), search_key(d["prenoms"]).split(" ")[0], d["sexe"],
                       d["date_naissance"])
                candidates = pivots.get(key, [])
            for value in ([d["email"]] if d["email"] else []) + ([d["phone"].e164] if d["phone"] else []):
                if not candidates:
                    sharing = list({p.pk: p for p in by_contact.get((value, d["date_naissance"]), [])}.values())
                    candidates = [p for p in sharing if linkage.names_agree(_record(d), _record_of(p))]
                    others = [p for p in sharing if p not in candidates]
                    if others:
                        self.suspects[parsed.key] = others
            if len(candidates) == 1:
                result[parsed.key] = (candidates[0], True)
        return result

    def _suggest(self, person: Person, d: dict[str, Any], others: list[Person], now: Any) -> None:
        """The new person and each one sharing a contact and birth date under another name: a suggestion."""
        mine = _record(d, person.pk)
        suggestions = []
        for other in others:
            result = linkage.compare(mine, _record_of(other, contacts=mine.emails | mine.phones))
            suggestions.append(MergeSuggestion(
                person_a_id=result.a, person_b_id=result.b, score=round(result.probability, 4),
                reasons=["import : même contact et même date de naissance, noms différents", *result.reasons],
                created_at=now))
        MergeSuggestion.objects.bulk_create(suggestions, ignore_conflicts=True)
        log.info("import: shared contact under another name, duplicate suggested", person_id=person.pk,
                 others=[o.pk for o in others])

    def _contacts(self, person: Person, d: dict[str, Any], now: Any) -> bool:
        wanted = []
        if d["email"]:
            wanted.append(("email", d["email"], False))
        if d["phone"]:
            wanted.append(("phone", d["phone"].e164, d["phone"].is_mobile))
        if d["postal"]:
            wanted.append(("postal", d["postal"], False))
        dirty = False
        if wanted:
            have = set(ContactPoint.objects.filter(person=person).values_list("kind", "value"))
            new = [ContactPoint(person=person, kind=k, value=v, is_mobile=m, source="import", created_at=now)
                   for k, v, m in wanted if (k, v) not in have]
            if new:
                ContactPoint.objects.bulk_create(new)
                dirty = True
        if d["channels"]:
            current = list(ChannelPreference.objects.filter(person=person).order_by("rank")
                           .values_list("channel", flat=True))
            if current != d["channels"]:
                ChannelPreference.objects.filter(person=person).delete()
                ChannelPreference.objects.bulk_create(ChannelPreference(person=person, channel=c, rank=i + 1)
                                                      for i, c in enumerate(d["channels"]))
                dirty = True
        return dirty



def _record(d: dict[str, Any], person_id: int = 0) -> linkage.IdentityRecord:
    """An import line as record linkage compares it."""
    return linkage.IdentityRecord(
        person_id, search_key(d["nom_naissance"]), search_key(d["nom_usage"]), search_key(d["prenoms"]), d["sexe"],
        d["date_naissance"], d["code_insee_naissance"], d["nir"],
        frozenset([d["email"]] if d["email"] else []), frozenset([d["phone"].e164] if d["phone"] else []))


def _record_of(person: Person, contacts: frozenset[str] = frozenset()) -> linkage.IdentityRecord:
    """A registered person as record linkage compares it (`contacts`: those known to be shared)."""
    return linkage.IdentityRecord(
        person.pk, person.nom_cle, person.usage_cle, person.prenoms_cle, person.sexe, person.date_naissance,
        person.code_insee_naissance, person.nir, frozenset(c for c in contacts if "@" in c),
        frozenset(c for c in contacts if "@" not in c))
