"""`proactif sandbox`: API Particulier v3 and API Impôt Particulier served locally over the synthetic
population, as their specifications describe them — answers, error format, rate-limit headers — so the demo
and the tests run the real clients end to end without reaching any administration.

Sandbox credentials: the API Particulier token is `PROACTIF_SANDBOX_TOKEN` (default `sandbox`); in the
FranceConnect mode the bearer token is `fc-<person id>`; the France Travail identifier is `FT<person id>`;
the numéro fiscal is the synthetic tax household's. Only synthetic residents are ever found. Requests over
`rate_limit` per minute and token get 429 with `Retry-After`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.registry import services as registry

log = get_logger(__name__)

IMPOT_BASE = "/impotparticulier/1.0"
PARTICULIER_OPERATIONS = ("quotient_familial", "revenu_solidarite_active", "prime_activite",
                          "complementaire_sante_solidaire", "allocation_adulte_handicape",
                          "allocation_soutien_familial")


class SandboxError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}


def _error_body(error: SandboxError) -> dict[str, Any]:
    return {"errors": [{"code": error.code, "title": error.title, "detail": error.detail, "source": None,
                        "meta": {}}]}


def _day(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _identity_from(query: dict[str, list[str]]) -> int:
    def one(name: str) -> str:
        return (query.get(name) or [""])[0]

    missing = [name for name in ("nomNaissance", "prenoms[]", "sexeEtatCivil") if not query.get(name)]
    if missing:
        raise SandboxError(400, "00210", "Entité non traitable",
                           f"Paramètre(s) manquant(s) : {', '.join(missing)}")
    born = None
    if one("anneeDateNaissance") and one("moisDateNaissance") and one("jourDateNaissance"):
        try:
            born = date(int(one("anneeDateNaissance")), int(one("moisDateNaissance")), int(one("jourDateNaissance")))
        except ValueError:
            raise SandboxError(400, "00210", "Entité non traitable", "Date de naissance invalide") from None
    person_id = registry.sandbox_find_by_identity(one("nomNaissance"), query["prenoms[]"], one("sexeEtatCivil"), born)
    if person_id is None:
        raise SandboxError(404, "37003", "Dossier allocataire absent",
                           "Le dossier allocataire n'a pas été trouvé auprès de la CNAF.")
    return person_id


def _person(mode: str, query: dict[str, list[str]], token: str, france_connect: bool) -> int:
    """The synthetic resident a call is about: by the identité pivot, or by the FranceConnect token
    (`fc-<person id>` in the sandbox)."""
    if mode == "france_connect" and france_connect and token[3:].isdigit():
        return int(token[3:])
    if mode == "identite" and not france_connect:
        return _identity_from(query)
    raise SandboxError(404, "00404", "Non trouvé", "Ce mode d'appel n'est pas servi par le bac à sable")


def _civil(person: dict[str, Any]) -> dict[str, Any]:
    return {"nom_naissance": person["nom_naissance"].upper(), "nom_usage": person["nom_usage"].upper() or None,
            "prenoms": person["prenoms"].upper(), "date_naissance": _day(person["date_naissance"]) or "",
            "sexe": person["sexe"]}


def _caf_parts(adults: int, children: int) -> float:
    return max(1, adults) + 0.5 * min(children, 2) + max(0, children - 2)


def _dss(operation: str, record: dict[str, Any], today: date) -> dict[str, Any]:
    benefits = record["benefits"]

    def status(benefit: str, extra: str | None) -> dict[str, Any]:
        paid = benefits.get(benefit)
        out: dict[str, Any] = {"est_beneficiaire": paid is not None,
                               "date_debut_droit": _day(paid["since"]) if paid else None}
        if extra:
            out[extra] = (False if paid else None)
        return out

    if operation == "quotient_familial":
        members = {p["id"] for p in record["allocataires"]} | {p["id"] for p in record["enfants"]}
        monthly = sum(r["monthly_amount"] for r in record["resources"] if r["person_id"] in members)
        value = round(monthly / _caf_parts(len(record["allocataires"]), len(record["enfants"])))
        address = record["address"] or {"numero_voie": None, "code_postal": "", "commune": ""}
        first = record["allocataires"][0]
        return {"allocataires": [_civil(p) for p in record["allocataires"]],
                "enfants": [_civil(p) for p in record["enfants"]],
                "adresse": {"destinataire": f"{first['prenoms'].split()[0]} {first['nom_naissance']}".upper(),
                            "complement_information": None, "complement_information_geographique": None,
                            "numero_libelle_voie": address["numero_voie"], "lieu_dit": None,
                            "code_postal_ville": f"{address['code_postal']} {address['commune']}".strip(),
                            "pays": "FRANCE"},
                "quotient_familial": {"fournisseur": "CNAF", "valeur": value, "annee": today.year,
                                      "mois": today.month, "annee_calcul": today.year, "mois_calcul": today.month}}
    return {"revenu_solidarite_active": status("rsa", "avec_majoration"),
            "prime_activite": status("prime_activite", "avec_majoration"),
            "complementaire_sante_solidaire": status("css", "avec_participation"),
            "allocation_adulte_handicape": status("aah", None),
            "allocation_soutien_familial": status("asf", None)}[operation]


def _france_travail(kind: str, identifier: str, today: date) -> dict[str, Any]:
    seeker = registry.sandbox_france_travail(identifier, today)
    if seeker is None or seeker["allowance"] is None:
        raise SandboxError(404, "37001", "Dossier demandeur d'emploi absent",
                           "Aucun demandeur d'emploi n'a été trouvé avec cet identifiant.")
    person = seeker["person"]
    if kind == "indemnites":
        payments = []
        for back in range(3):
            month, year = today.month - back, today.year
            while month < 1:
                month, year = month + 12, year - 1
            amount = round(seeker["allowance"], 2)
            payments.append({"date_versement": date(year, month, 1).isoformat(), "montant_total": amount,
                             "montant_allocations": amount, "montant_aides": 0.0, "montant_autres": 0.0})
        return {"identifiant": identifier, "paiements": payments}
    return {"identifiant": identifier,
            "identite": {"civilite": "MME" if person["sexe"] == "F" else "M.",
                         "nom_naissance": person["nom_naissance"].upper(),
                         "nom_usage": person["nom_usage"].upper() or None,
                         "prenom": person["prenoms"].split()[0].upper(), "sexe": person["sexe"],
                         "date_naissance": _day(person["date_naissance"]) or ""},
            "contact": {"telephone": "0000000000", "telephone2": None, "email": None},
            "adresse": {"code_postal": "", "code_cog_insee_commune": "", "localite": "", "ligne_voie": "",
                        "ligne_complement_destinataire": None, "ligne_complement_adresse": None,
                        "ligne_complement_distribution": None,
                        "ligne_nom": f"{person['prenoms'].split()[0]} {person['nom_naissance']}".upper()},
            "inscription": {"date_debut": _day(seeker["since"]) or today.replace(day=1).isoformat(), "date_fin": None,
                            "categorie": {"code": 1, "libelle": "PERSONNE SANS EMPLOI DISPONIBLE DUREE INDETERMINEE "
                                                                "PLEIN TPS"},
                            "code_certification_cnav": "VC"}}


def _scholarship(record: dict[str, Any], today: date, with_identity: bool) -> dict[str, Any]:
    """CNOUS: a synthetic student is a resident with a grant (`bourse`) among their resources (the identity
    comes back in the identité mode only, as the specification has it)."""
    grant = next((r for r in record["resources"] if r["person_id"] == record["person"]["id"] and r["kind"] == "bourse"),
                 None)
    if grant is None:
        raise SandboxError(404, "37001", "Étudiant non trouvé", "Aucun étudiant boursier n'a été trouvé.")
    person = record["person"]
    year = today.year if today.month >= 9 else today.year - 1
    level = min(7, max(0, round(grant["monthly_amount"] / 100)))
    out = {"est_boursier": True, "email": "", "echelon_bourse": {"echelon": str(level) if level else "0bis",
                                                                  "echelon_bourse_regionale_provisoire": False},
            "periode_versement_bourse": {"date_rentree": date(year, 9, 1).isoformat(), "duree": 10},
            "etablissement_etudes": {"nom_commune": "PARIS", "nom_etablissement": "UNIVERSITÉ (BAC À SABLE)"}}
    if with_identity:
        out["identite"] = {"nom": person["nom_naissance"].upper(), "prenoms": person["prenoms"].upper().split(),
                           "date_naissance": _day(person["date_naissance"]) or "",
                           "nom_commune_naissance": (person["lieu_naissance"] or "").upper(), "sexe": person["sexe"]}
    return out


def _tax(spi: str, annrev: int) -> dict[str, Any]:
    if annrev > clock.today().year - 1:
        raise SandboxError(404, "404", "Non trouvé", f"Pas de situation pour les revenus de {annrev}")
    foyer = registry.sandbox_tax_household(spi)
    if foyer is None:
        raise SandboxError(404, "404", "Non trouvé", "Aucun foyer fiscal pour ce numéro fiscal")
    yearly = foyer["yearly"]
    wages = yearly.get("salaire", 0.0) + yearly.get("chomage", 0.0)
    pensions = yearly.get("retraite", 0.0) + yearly.get("invalidite", 0.0)
    taxable = round(wages * 0.9 + pensions * 0.9 + yearly.get("independant", 0.0))
    parts = (2.0 if len(foyer["declarants"]) > 1 else 1.0) + 0.5 * min(len(foyer["dependants"]), 2) + max(
        0, len(foyer["dependants"]) - 2)
    out: dict[str, Any] = {"rfr": taxable, "sitFam": "M" if len(foyer["declarants"]) > 1 else "C", "nbPart": parts,
                           "pac": {"nbPac": len(foyer["dependants"])}, "revenuBrutGlobal": taxable,
                           "revImposable": taxable, "montTotIr": 0, "numRole": "000", "fipNum": spi,
                           "rev": {"tspr": [{"code": "1AJ", "valeur": str(round(wages))}],
                                   "pro": [], "rcm": [], "pv": [], "fonc": [], "chges": [], "rici": [],
                                   "alpha": [], "div": []}}
    for n, declarant in enumerate(foyer["declarants"][:2], start=1):
        born = declarant["date_naissance"]
        out[f"nmNaiDec{n}"] = declarant["nom_naissance"].upper()
        out[f"nmUsaDec{n}"] = declarant["nom_usage"].upper()
        out[f"prnmDec{n}"] = declarant["prenoms"].upper()
        if born:
            out[f"dateNaisDec{n}"] = {"jour": f"{born.day:02d}", "mois": f"{born.month:02d}", "annee": str(born.year)}
    if foyer["address"]:
        out["aft"] = f"{foyer['address']['voie']} {foyer['address']['code_postal']} {foyer['address']['commune']}"
        out["aftDetail"] = {"voie": foyer["address"]["voie"], "getcodePostal": foyer["address"]["code_postal"],
                            "getcommune": foyer["address"]["commune"], "complementAdresse": ""}
    return out


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], token: str, rate_limit: int = 600):
        self.token = token
        self.rate_limit = rate_limit
        self.calls: dict[str, deque[float]] = {}
        self.lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def take(self, key: str) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until the window frees a call) in a sliding minute."""
        now = time.monotonic()
        with self.lock:
            window = self.calls.setdefault(key, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.rate_limit:
                return False, 0, 60 - (now - window[0])
            window.append(now)
            return True, self.rate_limit - len(window), 60 - (now - window[0])


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # no access log: URLs carry identities
        return

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str], content_type: str) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        impot = parts.path.startswith(IMPOT_BASE)
        content_type = ("application/prs.dgfip.part.situations.ir.assiettes.v1+json" if impot
                        else "application/json")
        headers: dict[str, str] = {}
        try:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").removeprefix("bearer ")
            france_connect = token.startswith("fc-")
            if not token or (token != self.server.token and not france_connect):
                raise SandboxError(401, "00101", "Interdit", "Votre jeton est invalide ou absent.")
            allowed, remaining, reset = self.server.take(token)
            headers = {"RateLimit-Limit": str(self.server.rate_limit), "RateLimit-Remaining": str(remaining),
                       "RateLimit-Reset": str(int(clock.real_now().timestamp() + reset))}
            if not allowed:
                headers["Retry-After"] = str(max(1, round(reset)))
                raise SandboxError(429, "00429", "Trop de requêtes", "Vous avez effectué trop de requêtes",
                                   headers)
            body = self._impot(parts.path, france_connect) if impot else self._particulier(
                parts.path, query, token, france_connect)
            headers.update({"X-Response-Cached": "false"} if not impot else {})
            self._send(200, body, headers, content_type)
        except SandboxError as error:
            self._send(error.status, _error_body(error) if not impot else
                       {"erreur": error.title, "detail": error.detail}, {**headers, **error.headers},
                       "application/json")

    def _particulier(self, path: str, query: dict[str, list[str]], token: str, france_connect: bool) -> dict[str, Any]:
        recipient = (query.get("recipient") or [""])[0]
        if not (recipient.isdigit() and len(recipient) == 14):
            raise SandboxError(400, "00207", "Entité non traitable",
                               "Le paramètre recipient n'est pas un numéro de SIRET valide")
        today = clock.today()
        segments = path.strip("/").split("/")
        if len(segments) == 4 and segments[:2] == ["v3", "dss"] and segments[2] in PARTICULIER_OPERATIONS:
            operation = segments[2]
            record = registry.sandbox_record(_person(segments[3], query, token, france_connect), today)
            if record is None:
                raise SandboxError(404, "37003", "Dossier allocataire absent",
                                   "Le dossier allocataire n'a pas été trouvé auprès de la CNAF.")
            return {"data": _dss(operation, record, today), "links": {}, "meta": {}}
        if segments[:3] == ["v3", "cnous", "etudiant_boursier"] and len(segments) == 4:
            record = registry.sandbox_record(_person(segments[3], query, token, france_connect), today)
            if record is None:
                raise SandboxError(404, "37001", "Étudiant non trouvé", "Aucun étudiant boursier n'a été trouvé.")
            return {"data": _scholarship(record, today, segments[3] == "identite"), "links": {}, "meta": {}}
        if len(segments) == 4 and segments[:2] == ["v3", "france_travail"] and segments[3] == "identifiant":
            identifier = (query.get("identifiant") or [""])[0]
            return {"data": _france_travail(segments[2], identifier, today), "links": {}, "meta": {}}
        raise SandboxError(404, "00404", "Non trouvé", f"Chemin inconnu : {path}")

    def _impot(self, path: str, france_connect: bool) -> dict[str, Any]:
        segments = path[len(IMPOT_BASE):].strip("/").split("/")
        if len(segments) == 7 and segments[0] == "spi" and segments[2:6] == ["situations", "ir", "assiettes",
                                                                                 "annrev"]:
            if not self.headers.get("X-Correlation-ID"):
                raise SandboxError(400, "400", "Requête mal formée", "X-Correlation-ID absent")
            return _tax(segments[1], int(segments[6]) if segments[6].isdigit() else 0)
        raise SandboxError(404, "404", "Non trouvé", f"Chemin inconnu : {path}")


def serve(port: int, token: str, rate_limit: int = 600) -> SandboxServer:
    """Start the sandbox on a thread; returns the server (its `server_address` has the port)."""
    server = SandboxServer(("127.0.0.1", port), token, rate_limit)
    threading.Thread(target=server.serve_forever, name="proactif-sandbox", daemon=True).start()
    log.info("sandbox started", port=server.server_address[1])
    return server
