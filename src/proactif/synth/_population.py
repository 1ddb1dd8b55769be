"""Households and residents, generated chunk by chunk.

Each chunk is a pure function of (seed, chunk index): its own random stream and its own id
ranges, so chunks can be generated in any order or in parallel and the commune is identical for
a given seed. Rows come out as tuples in the column order of `registry.services.BULK_COLUMNS`.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

from proactif.kernel.text import search_key as _search_key
from proactif.registry.domain import default_expiry, document_status_on
from proactif.synth import _claims as claims
from proactif.synth import domain as d

HOUSEHOLDS_PER_CHUNK = 5_000
PERSON_STRIDE = 40_000  # person ids of chunk k: k * stride + 1 …
GROUP_STRIDE = 20_000  # famille / foyer ids


@dataclass(frozen=True)
class Context:
    seed: int
    today: date
    now: datetime
    address_ids: np.ndarray
    surnames: tuple[str, ...]
    first_names_f: tuple[str, ...]
    first_names_m: tuple[str, ...]
    postgres: bool
    law: claims.Law
    address_codes: tuple[str, ...] = ()  # commune code of each address (in the order of address_ids)
    duplicate_rate: float = 0.002


@dataclass
class Member:
    age: int
    sexe: str
    role: str  # personne_de_reference | conjoint | enfant | autre
    group: int  # index of the famille/foyer within the household
    nom: str
    nom_usage: str = ""
    famille_role: str = ""
    foyer_role: str = ""
    earnings: float = 0.0  # net
    other: float = 0.0  # net
    gross: float = 0.0  # gross wages and pensions, invalidity pensions
    taxable: float = 0.0
    taxable_wages: float = 0.0  # of which wages and unemployment benefit
    taux: int = 0
    id: int = 0
    active: bool = True  # not moved out, not deceased


@dataclass
class ChunkRows:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    truth: dict[str, dict[str, int]] = field(default_factory=dict)  # benefit -> eligible / receiving (counts)

    def add(self, kind: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(kind, []).append(row)

    def count(self, benefit: str, what: str) -> None:
        entry = self.truth.setdefault(benefit, {"eligible": 0, "receiving": 0})
        entry[what] += 1


search_key = cache(_search_key)  # names repeat: normalise each once


@cache
def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in ascii_name if ch.isalnum() or ch == "-")


def _band(rnd: random.Random, bands: tuple[tuple[int, int, float], ...]) -> int:
    low, high, _ = rnd.choices(bands, weights=[b[2] for b in bands])[0]
    return low + int(rnd.random() * (high - low + 1))


def _prob_by_age(table: tuple[tuple[int, int, float], ...], age: int) -> float:
    for low, high, p in table:
        if low <= age <= high:
            return p
    return 0.0


class ChunkGenerator:
    def __init__(self, ctx: Context, chunk: int):
        self.ctx = ctx
        self.chunk = chunk
        seed_seq = np.random.SeedSequence([ctx.seed, 1000 + chunk])
        self.rnd = random.Random(int(seed_seq.generate_state(1, dtype=np.uint64)[0]))
        self.next_person = chunk * PERSON_STRIDE + 1
        self.next_group = chunk * GROUP_STRIDE + 1
        self.out = ChunkRows()
        self.now_text = self.dt(ctx.now)
        self.residents = 0

    # Faster than random.choice/randrange/randint (no rejection sampling; the bias is below 2**-40).
    def pick(self, seq: Any) -> Any:
        return seq[int(self.rnd.random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.rnd.random() * n)

    def between(self, low: int, high: int) -> int:
        return low + int(self.rnd.random() * (high - low + 1))

    def dt(self, moment: datetime) -> str:
        text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
        return f"{text}+00:00" if self.ctx.postgres else text

    # --- households -----------------------------------------------------------------------
    def household(self, household_id: int, room: int = 99) -> None:
        """One household of at most `room` people (the last one of a commune may be cut short)."""
        rnd = self.rnd
        kind = rnd.choices(d.HOUSEHOLD_TYPES, weights=d.HOUSEHOLD_SHARES)[0]
        surname = self.surname()
        members: list[Member] = []
        if kind == "single":
            age = _band(rnd, d.SINGLE_AGES)
            sexe = "F" if rnd.random() < (0.62 if age >= 65 else 0.5) else "M"
            members.append(Member(age, sexe, "personne_de_reference", 0, surname))
        elif kind in ("couple", "couple_children"):
            age = _band(rnd, d.COUPLE_AGES if kind == "couple" else d.PARENT_AGES)
            partner_age = max(18, age + self.between(-6, 4))
            same_sex = rnd.random() < 0.03
            first = self.pick("MF")
            second = first if same_sex else ("F" if first == "M" else "M")
            ref = Member(age, first, "personne_de_reference", 0, surname)
            partner = Member(partner_age, second, "conjoint", 0, self.surname())
            members += [ref, partner]
            family_name = surname
            married = rnd.random() < (0.7 if age > 50 else 0.45)
            if not same_sex:
                man, woman = (ref, partner) if first == "M" else (partner, ref)
                family_name = man.nom
                if married and rnd.random() < 0.8:
                    woman.nom_usage = man.nom
            if kind == "couple_children":
                youngest_parent = min(age, partner_age)
                for _ in range(self.children_count(kind)):
                    child_age = self.child_age(youngest_parent)
                    members.append(Member(child_age, self.pick("FM"), "enfant", 0, family_name))
        elif kind == "single_parent":
            age = _band(rnd, d.PARENT_AGES)
            sexe = "F" if rnd.random() < 0.84 else "M"
            members.append(Member(age, sexe, "personne_de_reference", 0, surname))
            for _ in range(self.children_count(kind)):
                child_age = self.child_age(age)
                members.append(Member(child_age, self.pick("FM"), "enfant", 0, surname))
        else:  # flatmates: each adult is their own famille and foyer fiscal
            for i in range(self.pick((2, 2, 3))):
                members.append(Member(self.between(19, 38), self.pick("FM"),
                                      "personne_de_reference" if i == 0 else "autre", i,
                                      surname if i == 0 else self.surname()))
        del members[room:]
        self.assign_roles(members)
        groups = max(m.group for m in members) + 1
        group_ids = [self.next_group + g for g in range(groups)]
        self.next_group += groups
        at = self.below(len(self.ctx.address_ids))
        address_id = int(self.ctx.address_ids[at])
        code = self.ctx.address_codes[at] if self.ctx.address_codes else ""
        occupation, rent = self.housing(members)
        floor = self.between(0, 7)
        logement = "Rez-de-chaussée" if floor == 0 else f"{floor}e étage, porte {self.pick('ABCDEFG')}"
        self.out.add("household", (household_id, address_id, logement, occupation, rent, self.now_text))
        for gid in group_ids:
            # Synthetic file numbers: CAF allocataire (7 digits), numéro fiscal of the tax household (13 digits)
            self.out.add("famille", (gid, household_id, f"{gid % 10**7:07d}"))
            self.out.add("foyer", (gid, household_id, f"3{gid % 10**12:012d}"))
        for member in members:
            self.person(member, household_id, group_ids[member.group])
        zone = self.ctx.law.zones.get(code, "zone_2")
        for g, gid in enumerate(group_ids):
            self.benefits(household_id, gid, [m for m in members if m.group == g], occupation, rent, zone)
        self.energy_cheque(household_id, group_ids[0], members, occupation)
        if rnd.random() < d.PARKING_PERMIT_HOUSEHOLD:
            holder = members[0]
            issued = self.ctx.today - timedelta(days=self.below(730))
            expires = issued + timedelta(days=729)
            self.out.add("document", (holder.id, "permis_stationnement", f"PR{household_id:08d}", issued.isoformat(),
                                      expires.isoformat(), document_status_on("valide", expires, self.ctx.today),
                                      "synth", self.now_text))

    def child_age(self, parent_age: int) -> int:
        """The parent was 20 to 42 at the birth (a child still at home is at most 24)."""
        oldest = min(24, parent_age - 20)
        youngest = max(0, parent_age - 42)
        return self.between(youngest, oldest) if oldest >= youngest else 0

    def children_count(self, kind: str) -> int:
        counts = d.CHILDREN_COUNTS[kind]
        return int(self.rnd.choices([c for c, _ in counts], weights=[w for _, w in counts])[0])

    @staticmethod
    def assign_roles(members: list[Member]) -> None:
        # Children here are under 25: dependants of their parents' famille and foyer fiscal
        # (rattachement of students up to 25).
        for m in members:
            if m.role == "enfant":
                m.famille_role, m.foyer_role = "enfant", "personne_a_charge"
            else:
                m.famille_role, m.foyer_role = "parent", "declarant"

    def housing(self, members: list[Member]) -> tuple[str, str | None]:
        rnd = self.rnd
        oldest = max(m.age for m in members)
        owner_share = 0.25 if oldest < 35 else 0.55 if oldest < 60 else 0.72
        r = rnd.random()
        if r < owner_share:
            return "proprietaire", None
        if r < owner_share + (1 - owner_share) * 0.4:
            return "locataire_hlm", f"{rnd.uniform(320, 520) + 60 * len(members):.2f}"
        if r < 0.985:
            return "locataire", f"{rnd.uniform(600, 1000) + 180 * len(members):.2f}"
        return "loge_gratuitement", None

    def surname(self) -> str:
        rnd = self.rnd
        name = self.pick(self.ctx.surnames)
        if rnd.random() < 0.04:
            name = f"{name}-{self.pick(self.ctx.surnames)}"
        return name

    # --- people ---------------------------------------------------------------------------
    def person(self, m: Member, household_id: int, group_id: int) -> None:
        rnd, ctx = self.rnd, self.ctx
        m.id = self.next_person
        self.next_person += 1
        self.residents += 1
        born = date.fromordinal(ctx.today.toordinal() - int(m.age * 365.25) - self.below(365))
        names = ctx.first_names_f if m.sexe == "F" else ctx.first_names_m
        count = rnd.choices((1, 2, 3), weights=(0.3, 0.5, 0.2))[0]
        prenoms = " ".join(dict.fromkeys(self.pick(names) for _ in range(count)))
        if rnd.random() < 0.04:
            prenoms = f"{self.pick(names)}-{prenoms}"
        if rnd.random() < d.BORN_ABROAD:
            code, lieu = self.pick(d.BIRTH_COUNTRIES)
        else:
            code, lieu = self.pick(d.BIRTH_COMMUNES)
        nir = self.nir(m.sexe, born, code) if rnd.random() < 0.4 else None
        status, changed = "active", None
        r = rnd.random()
        if r < d.MOVED_OUT:
            status, changed = "moved_out", (ctx.today - timedelta(days=self.below(1100))).isoformat()
        elif r < d.MOVED_OUT + (d.DECEASED * (4 if m.age > 75 else 0.2)):
            status, changed = "deceased", (ctx.today - timedelta(days=self.below(1100))).isoformat()
        m.active = status == "active"
        if m.role != "enfant" and m.age >= 18:
            r = rnd.random()
            m.taux = 80 if r < d.DISABILITY_80 else 50 if r < d.DISABILITY_80 + d.DISABILITY_50 else 0
        row = (m.id, m.nom, m.nom_usage, prenoms, m.sexe, born.isoformat(), code, lieu, nir, status,
               household_id, m.role if household_id else "", group_id, m.famille_role if group_id else "",
               group_id, m.foyer_role if group_id else "", m.taux, "synth", search_key(m.nom),
               search_key(m.nom_usage), search_key(prenoms), self.now_text, changed, "fr")
        self.out.add("person", row)
        self.contacts(m, prenoms)
        self.documents(m, born)
        if m.age >= 18:
            self.consents(m)
            self.resources(m)
        self.maybe_duplicate(m, row)

    def nir(self, sexe: str, born: date, code_insee: str) -> str:
        first13 = f"{1 if sexe == 'M' else 2}{born.year % 100:02d}{born.month:02d}{code_insee}" \
                  f"{self.between(1, 999):03d}"
        numeric = int(first13.replace("2A", "19").replace("2B", "18"))
        return f"{first13}{97 - numeric % 97:02d}"

    def contacts(self, m: Member, prenoms: str) -> None:
        rnd = self.rnd
        first = prenoms.split(" ")[0]
        channels = []
        if rnd.random() < _prob_by_age(d.EMAIL_BY_AGE, m.age):
            # A mailbox belongs to one person: homonyms get distinct addresses (the id keeps them apart).
            number = str(m.id % 100_000) if rnd.random() < 0.5 else str(m.id)
            separator = self.pick((".", ".", "_", ""))
            email = f"{slug(first)}{separator}{slug(m.nom_usage or m.nom)}{number}@{self.pick(d.EMAIL_DOMAINS)}"
            self.out.add("contact", (m.id, "email", email, False, "active", "synth", self.now_text))
            channels.append("email")
        if rnd.random() < _prob_by_age(d.MOBILE_BY_AGE, m.age):
            phone = f"+33{self.pick(d.MOBILE_PREFIXES)}{self.below(10 ** 6):06d}"
            self.out.add("contact", (m.id, "phone", phone, True, "active", "synth", self.now_text))
            channels.append("sms")
        if m.age >= 65 and rnd.random() < d.LANDLINE_65_PLUS:
            phone = f"+331{self.between(40, 59)}{self.below(10 ** 6):06d}"
            self.out.add("contact", (m.id, "phone", phone, False, "active", "synth", self.now_text))
            channels.append("phone")
        if m.age >= 18 and rnd.random() < 0.6:
            order = self.preferred_order(m.age, channels)
            for rank, channel in enumerate(order, start=1):
                self.out.add("preference", (m.id, channel, rank))

    def preferred_order(self, age: int, available: list[str]) -> list[str]:
        rnd = self.rnd
        if age >= 75:
            base = ["letter", "phone", "sms", "email"]
        elif age >= 50:
            base = ["email", "sms", "letter"] if rnd.random() < 0.6 else ["sms", "email", "letter"]
        else:
            base = ["sms", "email", "push"] if rnd.random() < 0.55 else ["email", "sms", "push"]
        return [c for c in base if c == "letter" or c == "push" or c in available]

    def documents(self, m: Member, born: date) -> None:
        rnd, today = self.rnd, self.ctx.today
        adult = m.age >= 18
        if rnd.random() < (d.CNI_ADULT if adult else d.CNI_MINOR if m.age >= 3 else 0.1):
            issued = self.issue_date(born, years_back=17 if adult else 10)
            if issued is not None:
                electronic = issued >= date(2021, 8, 2)
                numero = "".join(self.pick("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9)) if electronic \
                    else f"{self.below(10 ** 12):012d}"
                self.document(m, "cni", numero, issued, born)
        if rnd.random() < (d.PASSPORT_ADULT if adult else d.PASSPORT_MINOR):
            issued = self.issue_date(born, years_back=11 if adult else 6)
            if issued is not None:
                numero = f"{self.between(10, 25)}{self.pick('ABCDEFGHJK')}{self.pick('ABCDEFGHJK')}" \
                         f"{self.below(10 ** 5):05d}"
                self.document(m, "passeport", numero, issued, born)
        if rnd.random() < d.POOL_PASS:
            issued = today - timedelta(days=self.below(400))
            expires = issued + timedelta(days=364)
            self.out.add("document", (m.id, "carte_piscine", f"PI{m.id:09d}", issued.isoformat(), expires.isoformat(),
                                      document_status_on("valide", expires, today), "synth", self.now_text))

    def issue_date(self, born: date, years_back: int) -> date | None:
        """A day in the last `years_back` years, at least a month after birth (None for a newborn)."""
        earliest = max(born.toordinal() + 30, self.ctx.today.toordinal() - int(years_back * 365.25))
        if earliest > self.ctx.today.toordinal():
            return None
        return date.fromordinal(self.between(earliest, self.ctx.today.toordinal()))

    def document(self, m: Member, kind: str, numero: str, issued: date, born: date) -> None:
        expires = default_expiry(kind, issued, born)
        status = document_status_on("valide", expires, self.ctx.today)
        self.out.add("document", (m.id, kind, numero, issued.isoformat(), expires.isoformat() if expires else None,
                                  status, "synth", self.now_text))

    def consents(self, m: Member) -> None:
        rnd = self.rnd
        for purpose, (granted, denied) in d.CONSENT_RATES.items():
            r = rnd.random()
            decision = "granted" if r < granted else "denied" if r < granted + denied else None
            if decision:
                self.consent(m, purpose, decision)
        draw = rnd.random() if m.age >= 65 and m.role == "personne_de_reference" else None
        if draw is not None and draw < d.VEILLE_SANTE_DRAWN:
            self.consent(m, "veille_sante", "granted", record=draw < d.VEILLE_SANTE_CONSENT)

    def consent(self, m: Member, purpose: str, decision: str, record: bool = True) -> None:
        at = self.ctx.now - timedelta(seconds=self.below(3 * 365 * 86400))
        source = self.pick(("portail", "guichet", "formulaire", "import"))
        text_version = self.pick(("2023-01", "2024-06"))
        if record:  # the draws are made either way: the rest of the commune stays the same for a seed
            self.out.add("consent", (m.id, purpose, "*", decision, source, text_version, self.dt(at), "", "{}"))

    def resources(self, m: Member) -> None:
        """A person's incomes drawn gross; their net and taxable amounts are those OpenFisca-France computes."""
        rnd, law = self.rnd, self.ctx.law
        # started before the year the benefits look back on: the generator takes this month as every month
        start = (self.ctx.today - timedelta(days=self.between(400, 2999))).isoformat()

        def add(kind: str, net: float, gross: float | None = None, taxable: float | None = None) -> None:
            self.out.add("resource", (m.id, kind, f"{net:.2f}", None if gross is None else f"{gross:.2f}",
                                      None if taxable is None else f"{taxable:.2f}", start, "synth"))

        def paid(kind: str, grid: claims.Grid, gross: float) -> None:
            net, taxable = grid.at(gross)
            if kind == "salaire":
                m.earnings += net
            else:
                m.other += net
            if kind != "chomage":
                m.gross += gross  # what the ASPA reads
            m.taxable += taxable
            if kind != "retraite":
                m.taxable_wages += taxable
            add(kind, net, gross, taxable)

        if m.age >= 62 and (m.age >= 65 or rnd.random() < 0.5):
            paid("retraite", law.pensions,
                 max(300.0, rnd.lognormvariate(np.log(d.MEDIAN_GROSS_PENSION), d.PENSION_SIGMA)))
            return
        if m.role == "enfant" and m.age <= 24 and rnd.random() < d.STUDENT_18_24:
            if rnd.random() < 0.35:
                paid("salaire", law.wages, rnd.uniform(450, 1150))
            if rnd.random() < 0.3:
                grant = rnd.uniform(110, 600)  # not taxable, no gross
                m.other += grant
                add("bourse", grant)
            return
        r = rnd.random()
        employed = d.EMPLOYED_DISABLED_80 if m.taux >= 80 else d.EMPLOYED
        if r < employed:
            paid("salaire", law.wages, max(600.0, rnd.lognormvariate(np.log(d.MEDIAN_GROSS_WAGE), d.WAGE_SIGMA)))
        elif r < employed + d.UNEMPLOYED:
            paid("chomage", law.unemployment, min(4000.0, max(950.0, rnd.lognormvariate(
                np.log(d.MEDIAN_GROSS_UNEMPLOYMENT), d.UNEMPLOYMENT_SIGMA))))
        if m.taux >= 50 and rnd.random() < 0.3:
            pension = rnd.uniform(300, 900)  # one amount in OpenFisca: taxable, read by the ASPA and the AAH
            m.other += pension
            m.gross += pension
            m.taxable += pension
            add("invalidite", pension, pension, pension)

    # --- benefits: who could claim what, and who does ------------------------------------
    def benefits(self, household_id: int, famille_id: int, members: list[Member], occupation: str,
                 rent: str | None, zone: str) -> None:
        """What the famille could claim under the legislation at the seed date, and whether it does (the
        published take-up rates): receipts in the registry, the whole decision kept as ground truth."""
        members = [m for m in members if m.active]
        adults = [claims.Adult(m.age, m.earnings, m.other, m.gross, m.taxable, m.taxable_wages, m.taux)
                  for m in members if m.famille_role == "parent"]
        children = [m for m in members if m.famille_role == "enfant"]
        dependants = tuple((m.earnings, m.other) for m in children if m.earnings or m.other)
        possible = claims.claims(self.ctx.law, adults, len(children), occupation, float(rent) if rent else None, zone,
                                 dependants)
        for benefit, amount in possible.items():
            self.claim(household_id, famille_id, benefit, amount)

    def energy_cheque(self, household_id: int, famille_id: int, members: list[Member], occupation: str) -> None:
        """The ménage's chèque énergie (sent without a claim, to the first famille; some are not used)."""
        members = [m for m in members if m.active]
        if occupation == "loge_gratuitement" or not members:
            return
        adults = [claims.Adult(m.age, m.earnings, m.other, m.gross, m.taxable, m.taxable_wages, m.taux)
                  for m in members if m.famille_role == "parent"]
        yearly = claims.energy_cheque(self.ctx.law, len(members), claims.reference_income(self.ctx.law, adults))
        if yearly > 0:
            self.claim(household_id, famille_id, "cheque_energie", yearly / 12)

    def claim(self, household_id: int, famille_id: int, benefit: str, amount: float) -> None:
        receiving = self.rnd.random() < d.TAKE_UP[benefit]
        # the C2S: nothing paid, free or with the household's contribution
        paid = amount * self.rnd.uniform(0.97, 1.03) if benefit != "css_gratuite" else 0.0
        if receiving:
            self.out.add("benefit", (famille_id, None, d.RECEIPT.get(benefit, benefit), f"{paid:.2f}",
                                     (self.ctx.today - timedelta(days=self.between(60, 2499))).isoformat(), "synth"))
        if benefit == "af":
            return  # not screened: no ground truth kept
        self.out.count(benefit, "eligible")
        if receiving:
            self.out.count(benefit, "receiving")
        per_famille = None if benefit == "cheque_energie" else famille_id  # the chèque is the ménage's
        self.out.add("entitlement", (household_id, per_famille, benefit, True, receiving, f"{amount:.2f}",
                                     self.ctx.today.isoformat()))

    # --- duplicates: the same person as another source keyed them ------------------------
    def maybe_duplicate(self, m: Member, row: tuple[Any, ...]) -> None:
        rnd = self.rnd
        if m.age < 18 or rnd.random() >= self.ctx.duplicate_rate:
            return
        nom, prenoms, born = row[1], row[3], date.fromisoformat(row[5])
        error = rnd.random()
        if error < 0.4 and len(nom) > 3:
            i = self.between(1, len(nom) - 2)
            nom = nom[:i] + nom[i + 1] + nom[i] + nom[i + 2:]  # swapped letters
        elif error < 0.7 and born.day <= 12:
            born = date(born.year, born.day, born.month)  # day and month swapped
        else:
            prenoms = prenoms.split(" ")[0]
        dup_id = self.next_person
        self.next_person += 1
        self.out.add("person", (dup_id, nom, row[2], prenoms, row[4], born.isoformat(), row[6], row[7], None, "active",
                                None, "", None, "", None, "", 0, "import_caf", search_key(nom), row[19],
                                search_key(prenoms), self.now_text, None, "fr"))
        for kind, value, mobile in [(r[1], r[2], r[3]) for r in self.out.rows.get("contact", [])[-3:]
                                    if r[0] == m.id]:
            if rnd.random() < 0.5:
                self.out.add("contact", (dup_id, kind, value, mobile, "active", "import_caf", self.now_text))


def generate_chunk(ctx: Context, chunk: int, households: int, max_residents: int) -> ChunkRows:
    """Households of chunk `chunk` (ids chunk * HOUSEHOLDS_PER_CHUNK + 1 …), stopping once
    `max_residents` residents exist in it (the last chunk of a commune is cut to size)."""
    generator = ChunkGenerator(ctx, chunk)
    first_household = chunk * HOUSEHOLDS_PER_CHUNK + 1
    for i in range(households):
        if generator.residents >= max_residents:
            break
        generator.household(first_household + i, max_residents - generator.residents)
    return generator.out


def generate_task(args: tuple[Context, int, int]) -> ChunkRows:
    """A full chunk, or the commune's last one cut to `remaining` residents (picklable for a process pool)."""
    ctx, chunk, remaining = args
    return generate_chunk(ctx, chunk, HOUSEHOLDS_PER_CHUNK, remaining)
