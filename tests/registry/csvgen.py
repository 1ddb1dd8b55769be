"""Test files: realistic resident CSVs with deliberately malformed lines."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from proactif.registry.domain import nir_with_key

HEADER = ["id_externe", "nom_naissance", "nom_usage", "prenoms", "sexe", "date_naissance", "code_insee_naissance",
          "lieu_naissance", "nir", "email", "telephone", "canaux", "id_foyer", "role_menage", "cle_interop",
          "logement", "statut", "date_statut", "adresse_postale"]
NAMES = ["Martin", "Bernard", "Dubois", "Lefèvre", "N'Diaye", "Le Gall", "Moreau", "Girard", "Benali", "Roux"]
FIRST = {"F": ["Marie", "Léa", "Chloé", "Fatou"], "M": ["Jean", "Lucas", "Karim", "Noël"]}

# (field, bad value, expected words in the reason)
MALFORMATIONS = [
    ("date_naissance", "31/02/1985", "date invalide"),
    ("date_naissance", "2099-01-01", "impossible"),
    ("sexe", "X", "sexe invalide"),
    ("nom_naissance", "", "obligatoire"),
    ("prenoms", "J3an", "chiffres"),
    ("email", "jean.dupont@", "e-mail invalide"),
    ("telephone", "06 12 34", "téléphone"),
    ("nir", "1 85 02 75 056 123 00", "NIR invalide"),
    ("canaux", "pigeon", "canal inconnu"),
    ("role_menage", "cousin", "rôle inconnu"),
    ("cle_interop", "pas-une-cle", "clé d'interopérabilité"),
    ("cle_interop", "99999_zzzz_00001", "adresse inconnue"),
    ("statut", "en vacances", "statut inconnu"),
    ("adresse_postale", "1|2|3|4|5|6|7", "6 au plus"),
]


def address_file(path: Path, count: int = 20) -> list[str]:
    keys = [f"21999_ab12_{i:05d}" for i in range(1, count + 1)]
    lines = ["cle_interop;voie;numero;suffixe;code_postal;code_insee;commune;lon;lat"]
    lines += [f"{key};Rue des Tilleuls;{i};;21999;21999;Belleroche;4.85{i:02d};47.32" for i, key in
              enumerate(keys, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keys


def resident_rows(count: int, keys: list[str], seed: int = 3) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(count):
        sexe = rnd.choice("FM")
        born = date(1935, 1, 1) + timedelta(days=(29 * i) % 30000)  # a distinct birth date per row
        year, month, day = born.year, born.month, born.day
        nom = rnd.choice(NAMES)
        nir = nir_with_key(f"{1 if sexe == 'M' else 2}{year % 100:02d}{month:02d}75056{i // 3 + 1:03d}") \
            if i % 3 == 0 and i < 2997 else ""  # unique order numbers: no two rows share a NIR
        rows.append({
            "id_externe": f"E{i:06d}", "nom_naissance": nom, "nom_usage": "", "sexe": sexe,
            "prenoms": f"{rnd.choice(FIRST[sexe])} {rnd.choice(FIRST[sexe])}",
            "date_naissance": f"{day:02d}/{month:02d}/{year}", "code_insee_naissance": "75056",
            "lieu_naissance": "Paris", "nir": nir,
            "email": f"{nom.lower().replace(' ', '').replace(chr(39), '')}.{i}@exemple.fr" if i % 2 else "",
            "telephone": f"06 {rnd.randint(40, 89)} {rnd.randint(10, 99)} {rnd.randint(10, 99)} {i % 100:02d}"
            if i % 4 else "",
            "canaux": "sms>email" if i % 5 == 0 else "", "id_foyer": f"F{i // 2:06d}",
            "role_menage": "personne_de_reference" if i % 2 == 0 else "conjoint",
            "cle_interop": keys[(i // 2) % len(keys)], "logement": "", "statut": "", "date_statut": "",
            "adresse_postale": "Résidence Les Tilleuls|Appartement 12|BP 40|21999 Belleroche" if i % 7 == 3 else ""})
    return rows


def write(path: Path, rows: list[dict[str, str]], sep: str = ";") -> None:
    lines = [sep.join(HEADER)] + [sep.join(row[h] for h in HEADER) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def malformed_file(path: Path, keys: list[str], count: int = 1000, bad_share: float = 0.05) -> dict[int, tuple]:
    """`count` residents, `bad_share` of them broken in one field. Returns {line number: malformation}."""
    rows = resident_rows(count, keys)
    step = round(1 / bad_share)
    bad: dict[int, tuple] = {}
    for n, index in enumerate(range(step // 2, count, step)):
        field, value, reason = MALFORMATIONS[n % len(MALFORMATIONS)]
        rows[index][field] = value
        bad[index + 2] = (field, reason)  # +2: the header is line 1
    write(path, rows)
    return bad
