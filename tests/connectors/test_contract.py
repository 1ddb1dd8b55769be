"""Contract tests: every request the connectors send and every answer the sandbox gives, checked against the
published specifications (`data/api-particulier-v3.openapi.yaml`,
`data/api-impot-particulier.swagger.json`) with openapi-core — parameters, headers, status codes,
bodies, the error format and the rate-limit answer included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from proactif.connectors import _impot as impot
from proactif.connectors import _particulier as particulier
from proactif.connectors import _transport as transport
from proactif.connectors import domain
from proactif.connectors._sandbox import serve
from proactif.registry.models import BenefitReceipt, FoyerFiscal, Person, Resource
from tests.conftest import reference_file

pytestmark = pytest.mark.django_db
CONTEXT = domain.CallContext(purpose="rights.screening", actor="test")
SIRET = "21920040500015"


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)

    def client(self) -> httpx.Client:
        def keep(response: httpx.Response) -> None:
            response.read()
            self.exchanges.append(Exchange(response.request, response))

        return httpx.Client(timeout=10, event_hooks={"response": [keep]})


class SpecRequest:
    """An httpx request as openapi-core reads it, sent to the specification's server."""

    def __init__(self, request: httpx.Request, server: str, base_path: str = ""):
        url = urlsplit(str(request.url))
        self.host_url = server
        self.path = url.path[len(base_path):] if base_path and url.path.startswith(base_path) else url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
                                            header=Headers(list(request.headers.items())),
                                            cookie=ImmutableMultiDict())
        self.content_type = request.headers.get("content-type", "")
        self.body = request.content or None


class SpecResponse:
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("content-type", "").split(";")[0]
        self.data = response.content


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    # The published documents are used as they are, without checking the documents themselves (API
    # Particulier's declares its bearer scheme with two extra keys the OpenAPI schema does not allow); the
    # DGFiP's vendor media type is JSON
    config = Config(spec_validator_cls=None, extra_media_type_deserializers={impot.MEDIA_TYPE: json.loads})
    particulier, impot_spec = (str(reference_file(name)) for name in (
        "api-particulier-v3.openapi.yaml", "api-impot-particulier.swagger.json"))
    return {"particulier": OpenAPI.from_file_path(particulier, config=config),
            "impot": OpenAPI.from_file_path(impot_spec, config=config)}


@pytest.fixture
def sandbox():
    server = serve(0, "sandbox", rate_limit=1000)
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def check(specs: dict[str, Any], exchanges: list[Exchange]) -> None:
    assert exchanges
    for exchange in exchanges:
        path = exchange.request.url.path
        if path.startswith("/impotparticulier/1.0"):
            spec, server = specs["impot"], "https://IP-GATEWAY/impotparticulier/1.0"
            request = SpecRequest(exchange.request, "https://IP-GATEWAY", "")
            request.path = path  # the server's base path is part of the request path
        else:
            spec, server = specs["particulier"], "https://particulier.api.gouv.fr"
            request = SpecRequest(exchange.request, server)
        spec.validate_request(request)
        spec.validate_response(request, SpecResponse(exchange.response))


def identity_of(person: Person) -> domain.Identity:
    return domain.Identity(person.nom_naissance, tuple(person.prenoms.split()[:3]), person.sexe, person.date_naissance,
                           "99100" if not person.code_insee_naissance.startswith("99") else
                           person.code_insee_naissance,
                           person.code_insee_naissance if not person.code_insee_naissance.startswith("99") else "")


def benefit_holder(benefit: str) -> Person:
    receipt = BenefitReceipt.objects.filter(benefit=benefit, until__isnull=True).exclude(famille=None).first()
    if receipt is None:
        receipt = BenefitReceipt.objects.filter(benefit=benefit).exclude(person=None).first()
        assert receipt is not None, benefit
        return Person.objects.get(pk=receipt.person_id)
    return Person.objects.filter(famille_id=receipt.famille_id).exclude(famille_role="enfant").order_by("id").first()


def test_api_particulier_requests_and_answers_follow_the_specification(specs, sandbox) -> None:
    url, _ = sandbox
    recorder = Recorder()
    client = particulier.ApiParticulier(transport.Transport(url, api="api_particulier", http=recorder.client()),
                                        "sandbox", SIRET)
    rsa = benefit_holder("rsa")
    for operation in particulier.DSS:
        answer = client.call(operation, CONTEXT, identity=identity_of(rsa))
        assert answer.mode == "identite" and answer.data
    assert client.call("revenu_solidarite_active", CONTEXT, identity=identity_of(rsa)).data["est_beneficiaire"] is True
    family = client.call("quotient_familial", CONTEXT, identity=identity_of(rsa)).data
    assert family["quotient_familial"]["valeur"] >= 0 and family["allocataires"]
    by_france_connect = client.call("revenu_solidarite_active", CONTEXT, france_connect_token=f"fc-{rsa.pk}")
    assert by_france_connect.mode == "france_connect" and by_france_connect.data["est_beneficiaire"] is True
    seeker = Resource.objects.filter(kind="chomage", person__source="synth").first()
    assert seeker is not None
    payments = client.call("france_travail_indemnites", CONTEXT, identifier=f"FT{seeker.person_id}").data
    assert payments["paiements"][0]["montant_total"] == pytest.approx(float(seeker.monthly_amount))
    status = client.call("france_travail_statut", CONTEXT, identifier=f"FT{seeker.person_id}").data
    assert status["identifiant"] == f"FT{seeker.person_id}"
    grant = Resource.objects.filter(kind="bourse", person__source="synth").exclude(
        person__date_naissance=None).select_related("person").first()
    assert grant is not None
    student = client.call("etudiant_boursier", CONTEXT, identity=identity_of(grant.person)).data
    assert student["est_boursier"] is True and student["identite"]["nom"] == grant.person.nom_naissance.upper()
    assert client.call("etudiant_boursier", CONTEXT, france_connect_token=f"fc-{grant.person_id}").mode == (
        "france_connect")
    nobody = domain.Identity("INCONNU", ("PERSONNE",), "F", rsa.date_naissance)
    with pytest.raises(domain.ApiError) as missing:
        client.call("prime_activite", CONTEXT, identity=nobody)
    assert missing.value.status == 404 and missing.value.code and missing.value.title
    check(specs, recorder.exchanges)


def test_rate_limits_are_honoured_then_reported_in_the_specified_format(specs) -> None:
    server = serve(0, "sandbox", rate_limit=2)
    try:
        recorder, waits = Recorder(), []
        exchange = transport.Transport(f"http://127.0.0.1:{server.server_address[1]}", api="api_particulier",
                                       http=recorder.client(), sleep=waits.append, max_attempts=3)
        client = particulier.ApiParticulier(exchange, "sandbox", SIRET)
        person = benefit_holder("rsa")
        client.call("allocation_adulte_handicape", CONTEXT, identity=identity_of(person))
        answer = client.call("allocation_adulte_handicape", CONTEXT, identity=identity_of(person))
        assert answer.rate_limit.limit == 2 and answer.rate_limit.remaining == 0
        with pytest.raises(domain.ApiError) as limited:
            client.call("allocation_adulte_handicape", CONTEXT, identity=identity_of(person))
        assert limited.value.status == 429 and limited.value.code == "00429"
        assert len(waits) == 2 and all(w == 30 for w in waits)  # Retry-After (about 60 s) honoured, up to the cap
        assert [e.response.status_code for e in recorder.exchanges] == [200, 200, 429, 429, 429]
        check(specs, recorder.exchanges)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.filterwarnings("ignore:Unsupported scheme type")  # openapi-core does not check OAuth 2 schemes
def test_api_impot_particulier_requests_and_answers_follow_the_specification(specs, sandbox) -> None:
    url, _ = sandbox
    recorder = Recorder()
    client = impot.ApiImpotParticulier(
        transport.Transport(f"{url}/impotparticulier/1.0", api="api_impot_particulier", http=recorder.client()),
        "sandbox", "proactif")
    foyer = FoyerFiscal.objects.exclude(numero_fiscal="").filter(members__resources__kind="salaire").first()
    assert foyer is not None
    from proactif.kernel import clock

    found = client.situation_ir(clock.today().year - 1, CONTEXT, spi=foyer.numero_fiscal)
    assert found.rfr is not None and found.rfr > 0 and found.nb_parts and found.nb_parts >= 1
    check(specs, recorder.exchanges)


def test_bad_credentials_and_recipients_are_refused_in_the_error_format(specs, sandbox) -> None:
    url, _ = sandbox
    recorder = Recorder()
    person = benefit_holder("rsa")
    wrong_token = particulier.ApiParticulier(
        transport.Transport(url, api="api_particulier", http=recorder.client()), "not-the-token", SIRET)
    with pytest.raises(domain.ApiError) as refused:
        wrong_token.call("prime_activite", CONTEXT, identity=identity_of(person))
    assert refused.value.status == 401
    with pytest.raises(ValueError, match="SIRET"):
        particulier.ApiParticulier(transport.Transport(url, api="api_particulier"), "sandbox", "123")
    check(specs, recorder.exchanges)
