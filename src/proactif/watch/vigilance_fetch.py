"""Fetching the current vigilance bulletin over HTTP: one GET, the body read up to `vigilance.MAX_BYTES`, then parsed.
No retry here: the caller's schedule tries again at its next run. Every failure is a `VigilanceError` whose one
French line names the host (never the whole URL, which may carry a key) and what went wrong."""

from __future__ import annotations

import httpx

from proactif.watch.vigilance import MAX_BYTES, Bulletin, VigilanceError, parse

# Météo-France's DPVigilance API (portail-api.meteofrance.fr, « Données Publiques Vigilance »): the key generated on
# the portal travels in the `apikey` header.
METEO_FRANCE_URL = "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours"


def fetch(url: str, *, api_key: str = "", client: httpx.Client | None = None, timeout: float = 10) -> Bulletin:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        target = httpx.URL("")
    if target.scheme not in ("http", "https") or not target.host:
        raise VigilanceError("adresse du service de vigilance invalide (URL http ou https attendue)")
    host = target.host
    headers = {"Accept": "application/json"}
    if api_key.strip():
        headers["apikey"] = api_key.strip()
    http = client or httpx.Client()
    try:
        # Redirects are not followed: the key header would travel to whatever host the answer names.
        with http.stream("GET", target, headers=headers, timeout=timeout, follow_redirects=False) as response:
            if not response.is_success:
                raise VigilanceError(_status_message(host, response.status_code))
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BYTES:
                raise VigilanceError(_too_large(host))
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise VigilanceError(_too_large(host))
    except httpx.TimeoutException:
        raise VigilanceError(f"le service de vigilance {host} n'a pas répondu en {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise VigilanceError(f"le service de vigilance {host} est injoignable ({type(exc).__name__})") from None
    finally:
        if client is None:
            http.close()
    try:
        return parse(bytes(body))
    except VigilanceError as exc:
        raise VigilanceError(f"réponse de {host} : {exc}") from None


def _status_message(host: str, status: int) -> str:
    if status in (401, 403):
        return f"clé d'API refusée par {host} (HTTP {status}) : vérifiez la clé du service de vigilance"
    if status == 404:
        return f"adresse introuvable sur {host} (HTTP 404)"
    if status == 429:
        return f"quota de requêtes dépassé chez {host} (HTTP 429) : réessayez plus tard"
    if 300 <= status < 400:
        return f"{host} redirige ailleurs (HTTP {status}) : indiquez l'adresse finale du service de vigilance"
    if status >= 500:
        return f"le service de vigilance {host} est en erreur (HTTP {status})"
    return f"requête refusée par {host} (HTTP {status})"


def _too_large(host: str) -> str:
    return f"réponse de {host} trop volumineuse (plus de {MAX_BYTES // 1024 // 1024} Mo)"
