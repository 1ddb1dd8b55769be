"""Rights detection as the platform uses it: screening runs (chunks any worker can take, progress, an
incremental cache), detections with their reasons, the outreach journey and the follow-up of take-up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, F, QuerySet

from proactif.accounts.domain import Access, Section
from proactif.audit import services as audit
from proactif.journeys import services as journeys
from proactif.kernel import bulkload, clock, events, executor
from proactif.kernel.charts import Chart, Series
from proactif.kernel.logging import get_logger
from proactif.kernel.text import MONTHS_FR, euros
from proactif.registry import services as registry
from proactif.rights import _local_aids as local_aid_rules
from proactif.rights import _openfisca as openfisca
from proactif.rights import _screening as screening
from proactif.rights import domain
from proactif.rights._local_aids import LocalAid
from proactif.rights.models import Assessment, HouseholdResult, Outreach, ScreeningChunk, ScreeningRun

log = get_logger(__name__)

BENEFITS = tuple(domain.BENEFITS)
beside_national = domain.beside_national
LocalAidError = local_aid_rules.AidError
LABELS = {"rsa": "RSA", "prime_activite": "Prime d'activité", "css_gratuite": "Complémentaire santé solidaire",
          "css_participation": "Complémentaire santé solidaire (avec participation)",
          "aide_logement": "Aide au logement", "aspa": "Allocation de solidarité aux personnes âgées (ASPA)",
          "aah": "Allocation aux adultes handicapés (AAH)", "cheque_energie": "Chèque énergie"}
JOURNEY = "droits-possibles"
PURPOSE = "action_sociale"
LIVE_OUTREACH = ("a_informer", "informe", "rdv_demande", "demande")
# Take-up checks: API Particulier where the benefit has an operation, else the monthly feed of benefits paid
TAKE_UP_OPERATIONS = {"rsa": "revenu_solidarite_active", "prime_activite": "prime_activite",
                      "css_gratuite": "complementaire_sante_solidaire",
                      "css_participation": "complementaire_sante_solidaire", "aah": "allocation_adulte_handicape"}
FOLLOW_UPS = (("M+1", 1), ("M+3", 3))
CLAIM_DECISION_WAIT = timedelta(days=180)  # a claim filed is followed monthly after M+3, at most this long
OUTREACH_STATUSES = Outreach.STATUS
WARM_UP = 20  # households computed before forking the screening workers


class RightsError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- one household ---------------------------------------------------------------------------
def situation(household_id: int, period: str) -> dict[str, Any]:
    """The exact OpenFisca situation (Web API format) the platform computes for a household and a month."""
    from django.core.exceptions import ObjectDoesNotExist

    months = [domain.month_start(m) for m in domain.input_months(period)]
    try:
        composition = registry.household_composition(household_id, months)
    except ObjectDoesNotExist:
        raise LookupError(f"foyer {household_id} inconnu") from None
    return domain.situation(composition, period)


def compute_household(household_id: int, period: str) -> dict[str, Any]:
    """One household computed on its own (the OpenFisca Web API way): the monthly amount per benefit."""
    result = openfisca.compute(situation(household_id, period))
    return {"household_id": household_id, "period": period, "model": openfisca.model_version(),
            "amounts": domain.amounts(result, period)}


def households_count() -> int:
    return registry.households_with_residents()


def model_version() -> str:
    return openfisca.model_version()


def legislation(day: Any) -> Any:
    """OpenFisca-France's parameter tree at a date (what the synthetic commune follows)."""
    return openfisca.tax_benefit_system().parameters(day.isoformat())


def calculate(situation: dict[str, Any], asked: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The asked `(variable, period)` of a Web API situation, each an array over its entity, from one vectorised
    simulation."""
    return openfisca.calculate(situation, asked)


def check_period(period: str) -> str:
    try:
        domain.month_start(period)
    except (ValueError, IndexError):
        raise RightsError(f"période « {period} » illisible : AAAA-MM attendu", "period") from None
    return period


def local_aids() -> dict[str, LocalAid]:
    """The local aids in force (PROACTIF_LOCAL_AIDS_DIR, the shipped examples by default), by benefit key; read
    again only when a rule file changes (labels and chunks ask often)."""
    from django.conf import settings

    folder = Path(settings.LOCAL_AIDS_DIR) if settings.LOCAL_AIDS_DIR else local_aid_rules.SHIPPED
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _read_aids(folder, stamp)


@lru_cache(maxsize=8)
def _read_aids(folder: Path, stamp: tuple[tuple[str, int], ...]) -> dict[str, LocalAid]:
    return {aid.benefit: aid for aid in local_aid_rules.load_folder(folder)}


def all_benefits() -> list[str]:
    return [*BENEFITS, *local_aids()]


def label(benefit: str) -> str:
    if benefit in LABELS:
        return LABELS[benefit]
    aid = local_aids().get(benefit)
    return aid.name if aid else benefit


def labels() -> dict[str, str]:
    return {**LABELS, **{key: aid.name for key, aid in local_aids().items()}}


def check_aid(source: str, origin: str) -> LocalAid:
    """A local aid rule checked (every problem listed in `LocalAidError.problems`)."""
    return local_aid_rules.parse(source, origin)


def check_benefits(benefits: list[str] | tuple[str, ...] | None) -> list[str]:
    known = all_benefits()
    chosen = list(benefits or known)
    unknown = [b for b in chosen if b not in known]
    if unknown:
        raise RightsError(f"prestation inconnue : {', '.join(unknown)} ({', '.join(known)})", "benefits")
    return chosen


# --- runs ------------------------------------------------------------------------------------
def start_run(period: str, *, benefits: list[str] | None = None, floor: float = screening.FLOOR,
              chunk: int = screening.CHUNK, started_by: str = "cli", submit: bool = True,
              use_cache: bool = True) -> ScreeningRun:
    """A run and its chunks; each chunk is a `rights.screen_chunk` task on the `batch` lane (a Celery batch
    worker, the embedded executor or the CLI's process pool takes it)."""
    check_period(period)
    chosen = check_benefits(benefits)
    if chunk < 1:
        raise RightsError("la taille des lots doit être positive", "chunk")
    with transaction.atomic():
        run = ScreeningRun.objects.create(period=period, benefits=chosen, floor=floor, started_by=started_by[:254],
                                          use_cache=use_cache,
                                          model_version=openfisca.model_version(), created_at=clock.now())
        chunks = [ScreeningChunk(run=run, index=i, household_ids=ids)
                  for i, ids in enumerate(registry.household_ids_in_chunks(chunk))]
        ScreeningChunk.objects.bulk_create(chunks, batch_size=200)
        run.households_total = sum(len(c.household_ids) for c in chunks)
        run.chunks_total = len(chunks)
        if not chunks:
            run.status, run.finished_at = "done", clock.now()
        run.save(update_fields=["households_total", "chunks_total", "status", "finished_at"])
    log.info("screening run created", run=run.pk, period=period, chunks=len(chunks), households=run.households_total)
    if submit:
        transaction.on_commit(lambda: submit_chunks(run.pk))
    return run


def submit_chunks(run_id: int) -> int:
    pending = list(ScreeningChunk.objects.filter(run_id=run_id, status="pending").values_list("index", flat=True))
    for index in pending:
        executor.enqueue("rights.screen_chunk", run_id, index)
    return len(pending)


def pending_chunks(run_id: int) -> list[int]:
    return list(ScreeningChunk.objects.filter(run_id=run_id, status="pending").order_by("index").values_list(
        "index", flat=True))


def run_chunk(run_id: int, index: int) -> dict[str, Any]:
    """Screen one chunk of a run (idempotent: a chunk done is not done again; its rows are replaced)."""
    chunk = ScreeningChunk.objects.select_related("run").get(run_id=run_id, index=index)
    run = chunk.run
    if chunk.status == "done" or run.status == "failed":
        return {"skipped": True}
    if run.status == "queued":
        ScreeningRun.objects.filter(pk=run.pk, status="queued").update(status="running", started_at=clock.now())
    ids = list(chunk.household_ids)
    kept = {h: (digest, amounts) for h, digest, amounts in HouseholdResult.objects.filter(
        household_id__any=ids, period=run.period, model_version=run.model_version).values_list(
        "household_id", "input_hash", "amounts")} if run.use_cache else {}
    try:
        result = screening.screen_chunk(ids, run.period, run.floor, tuple(run.benefits), kept, local_aids())
    except Exception as exc:
        ScreeningRun.objects.filter(pk=run.pk).update(status="failed", error=f"lot {index} : {exc}"[:2000],
                                                      finished_at=clock.now())
        raise
    now = clock.now()
    summary = screening.summary(result.rows)
    with transaction.atomic():
        if ScreeningChunk.objects.select_for_update().filter(pk=chunk.pk, status="done").exists():
            return {"skipped": True}
        Assessment.objects.filter(run=run, household_id__any=ids).delete()
        bulkload.copy_records(Assessment, [
            {"run_id": run.pk, "household_id": r.household_id, "quartier_id": r.quartier_id, "benefit": r.benefit,
             "amount": r.amount, "previous_amount": r.previous_amount, "eligible": r.eligible,
             "receiving": r.receiving, "detected": r.detected, "stable": r.stable, "opposed": r.opposed,
             "confidence": r.confidence, "reasons": list(r.reasons), "missing": list(r.missing)}
            for r in result.rows if r.eligible or r.receiving])
        if result.computed:  # replaced: deleted, then written with COPY
            HouseholdResult.objects.filter(household_id__any=list(result.computed), period=run.period,
                                           model_version=run.model_version).delete()
            bulkload.copy_records(HouseholdResult, [
                {"household_id": h, "period": run.period, "input_hash": digest, "model_version": run.model_version,
                 "amounts": amounts, "figures": figures, "computed_at": now}
                for h, (digest, amounts, figures) in result.computed.items()])
        ScreeningChunk.objects.filter(pk=chunk.pk).update(status="done", summary=summary, cached=result.cached,
                                                          done_at=now)
        ScreeningRun.objects.filter(pk=run.pk).update(households_done=F("households_done") + len(ids),
                                                      households_cached=F("households_cached") + result.cached,
                                                      chunks_done=F("chunks_done") + 1)
    _finish_if_complete(run.pk)
    return {"households": len(ids), "cached": result.cached, "summary": summary}


def _finish_if_complete(run_id: int) -> None:
    with transaction.atomic():
        run = ScreeningRun.objects.select_for_update().get(pk=run_id)
        if run.status in ("done", "failed") or run.chunks_done < run.chunks_total:
            return
        run.summary = screening.combine(ScreeningChunk.objects.filter(run=run).values_list("summary", flat=True))
        run.status, run.finished_at = "done", clock.now()
        run.save(update_fields=["summary", "status", "finished_at"])
    log.info("screening run done", run=run_id, households=run.households_total, cached=run.households_cached)


def get_run(run_id: int) -> ScreeningRun:
    try:
        return ScreeningRun.objects.get(pk=run_id)
    except ScreeningRun.DoesNotExist:
        raise LookupError(f"criblage {run_id} inconnu") from None


def runs(limit: int = 50) -> QuerySet[ScreeningRun]:
    return ScreeningRun.objects.all()[:limit]


def latest_run() -> ScreeningRun | None:
    return ScreeningRun.objects.filter(status="done").first()


def export_rows(run: ScreeningRun) -> Iterator[tuple[int, str, bool, bool, bool, float]]:
    """One row per household and benefit of a run: (household, benefit, eligible, receiving, detected,
    amount) — the households neither eligible nor receiving as zero rows."""
    for chunk in ScreeningChunk.objects.filter(run=run).order_by("index").iterator():
        stored = {(a.household_id, a.benefit): a for a in Assessment.objects.filter(
            run=run, household_id__any=chunk.household_ids)}
        for household_id in chunk.household_ids:
            for benefit in run.benefits:
                a = stored.get((household_id, benefit))
                yield ((household_id, benefit, a.eligible, a.receiving, a.detected, a.amount) if a else
                       (household_id, benefit, False, False, False, 0.0))


def detections(run: ScreeningRun, *, benefit: str = "", quartier: int | None = None,
               confidence: str = "") -> QuerySet[Assessment]:
    qs = Assessment.objects.filter(run=run, detected=True)
    if benefit:
        qs = qs.filter(benefit=benefit)
    if quartier:
        qs = qs.filter(quartier_id=quartier)
    if confidence:
        qs = qs.filter(confidence=confidence)
    return qs.order_by("-amount", "household_id")


def detected_households(run: ScreeningRun, **filters: Any) -> int:
    """How many households the filtered detections concern (a household may be detected for several benefits)."""
    return detections(run, **filters).values("household_id").distinct().count()


def log_detections_view(access: Access, household_ids: list[int], action: str = "view") -> None:
    """A page of detections: which households (their members) the agent saw as possibly entitled, logged
    (`action` "export_list" when they leave as a file)."""
    members = registry.members_of_households(sorted(set(household_ids)))
    if members:
        audit.record(access.actor, action, purpose=access.purpose, person_ids=members,
                     sections=[Section.PRESTATIONS.value], detail={"list": "detections"})


def period_label(period: str) -> str:
    """« novembre 2026 » for "2026-11"."""
    year, month = (int(x) for x in period.split("-"))
    return f"{MONTHS_FR[month - 1]} {year}"


def quartier_chart(run: ScreeningRun) -> Chart:
    """The households detected per quartier in a run, the most first (a bar each; the data table beside)."""
    names = {q.pk: q.nom for q in registry.quartiers()}
    rows = (Assessment.objects.filter(run=run, detected=True).values_list("quartier_id")
            .annotate(n=Count("household_id", distinct=True)).values_list("quartier_id", "n"))
    ordered = sorted(((names.get(q, "sans quartier"), n) for q, n in rows), key=lambda r: (-r[1], r[0]))
    return Chart(f"criblage-{run.pk}-quartiers", "Foyers détectés par quartier", tuple(r[0] for r in ordered),
                 (Series("Foyers détectés", tuple(r[1] for r in ordered)),), kind="bar", horizontal=True,
                 unit="foyers", label_header="Quartier")


def home_review(access: Access) -> dict[str, Any]:
    """The home page's block: the latest finished screening (its detections, those not yet informed), the
    households to follow up (informed, a claim to check), a run still going."""
    latest = ScreeningRun.objects.filter(status="done").order_by("-finished_at", "-pk").first()
    running = ScreeningRun.objects.filter(
        status__in=("queued", "running")).order_by("-pk").first()
    detected = to_inform = 0
    if latest is not None:
        households = Assessment.objects.filter(run=latest, detected=True).values("household_id").distinct()
        detected = households.count()
        to_inform = households.exclude(household_id__in=Outreach.objects.values("household_id")).count()
    statuses = dict(Outreach.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"latest": latest, "running": running, "detected": detected, "to_inform": to_inform,
            "latest_month": period_label(latest.period) if latest else "",
            "running_month": period_label(running.period) if running else "",
            "to_follow": statuses.get("informe", 0) + statuses.get("rdv_demande", 0),
            "claims": statuses.get("demande", 0)}


def explanation(access: Access, run_id: int, household_id: int) -> dict[str, Any]:
    """Why a household may be entitled: per benefit the amounts, reasons, missing inputs and confidence, the key
    figures the calculation used and their source. A read of resources and benefits: audited."""
    access.require(Section.RESSOURCES)
    run = get_run(run_id)
    rows = list(Assessment.objects.filter(run=run, household_id=household_id).order_by("-detected", "-amount"))
    if not rows:
        raise LookupError(f"foyer {household_id} absent des résultats de ce criblage")
    kept = HouseholdResult.objects.filter(household_id=household_id, period=run.period,
                                          model_version=run.model_version).first()
    members = registry.household_member_ids(household_id)
    audit.record(access.actor, "view", purpose=access.purpose, person_ids=members or [None],
                 sections=[Section.RESSOURCES.value, Section.PRESTATIONS.value],
                 detail={"screening_run": run.pk, "household": household_id})
    return {"run": run, "household_id": household_id, "rows": rows, "figures": kept.figures if kept else {},
            "names": registry.names_for(access, members), "reasons": domain.REASONS, "missing": domain.MISSING,
            "labels": labels(), "outreach": Outreach.objects.filter(household_id=household_id).first()}


# --- outreach --------------------------------------------------------------------------------
def start_outreach(run_id: int, *, benefit: str = "", quartier: int | None = None, confidence: str = "",
                   limit: int | None = None, started_by: str = "") -> dict[str, int]:
    """Inform the detected households of a run (filtered as on the screen): one outreach per household —
    every detected benefit in one message — and the `droits-possibles` journey for its reference person.
    Households already followed, or opposed since, are left out."""
    run = get_run(run_id)
    if run.status != "done":
        raise RightsError("le criblage n'est pas terminé", "run")
    chosen: dict[int, list[dict[str, Any]]] = {}
    for a in detections(run, benefit=benefit, quartier=quartier, confidence=confidence):
        chosen.setdefault(a.household_id, []).append({"benefit": a.benefit, "amount": round(a.amount, 2),
                                                      "confidence": a.confidence})
    followed = set(Outreach.objects.filter(household_id__any=list(chosen), status__in=LIVE_OUTREACH).values_list(
        "household_id", flat=True))
    figures: Counter[str] = Counter()
    now = clock.now()
    for household_id, found in chosen.items():
        if limit is not None and figures["started"] >= limit:
            break
        if household_id in followed:
            figures["already_followed"] += 1
            continue
        person_id = registry.reference_person(household_id)
        members = registry.household_member_ids(household_id)
        if person_id is None or registry.refused_purpose(members, "droits"):
            figures["opposed_or_gone"] += 1
            continue
        with transaction.atomic():
            outreach = Outreach.objects.create(run=run, household_id=household_id, person_id=person_id,
                                               benefits=found, created_at=now, updated_at=now)
            instance = journeys.start(JOURNEY, person_id, subject_id=outreach.pk,
                                      context={"outreach_id": outreach.pk})
            if instance is None:
                figures["journey_live"] += 1
                transaction.set_rollback(True)
                continue
            Outreach.objects.filter(pk=outreach.pk).update(instance_id=instance.pk, status="informe")
        figures["started"] += 1
    log.info("outreach started", run=run.pk, by=started_by, **figures)
    return dict(figures)


def outreach_views(ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """What the outreach messages show (`droits.liste`, `droits.total`): benefits by name and estimate."""
    out = {}
    for o in Outreach.objects.filter(pk__in=ids):
        items = [label(b["benefit"]) + " (sans participation)" if b["benefit"] == "css_gratuite"
                 else f"{label(b['benefit'])} (environ {euros(round(b['amount']))} par mois)" for b in o.benefits]
        out[o.pk] = {"liste": " ; ".join(items), "nombre": len(items),
                     "total": round(sum(b["amount"] for b in o.benefits if b["benefit"] != "css_gratuite"))}
    return out


def _outreach(outreach_id: int) -> Outreach:
    try:
        return Outreach.objects.get(pk=outreach_id)
    except Outreach.DoesNotExist:
        raise LookupError(f"accompagnement {outreach_id} inconnu") from None


def _set_status(outreach: Outreach, status: str, event: str, **fields: Any) -> None:
    Outreach.objects.filter(pk=outreach.pk).update(status=status, updated_at=clock.now(), **fields)
    events.publish(event, person_id=outreach.person_id, instance_id=outreach.instance_id, outreach_id=outreach.pk)


def refuse(outreach_id: int, *, source: str, access: Access | None = None) -> None:
    """The right to refuse: an opposition to the `droits` purpose, honoured by every later screening; the
    journey ends."""
    outreach = _outreach(outreach_id)
    from proactif.accounts.domain import system_actor

    registry.add_opt_out(access or Access(system_actor("droits.refus"), PURPOSE), outreach.person_id,
                         purpose="droits", channel="*", source=source, reason="refus d'être informé de ses droits")
    _set_status(outreach, "refuse", "right_refused")


def request_appointment(outreach_id: int, *, moment: str) -> None:
    """The citizen asks the CCAS for an appointment (morning / afternoon) from the link of the letter."""
    if moment not in ("matin", "apres_midi", "indifferent"):
        raise RightsError("choisissez un moment de la journée", "moment")
    outreach = _outreach(outreach_id)
    followups = [*outreach.followups, {"at": clock.now().isoformat(), "step": "rendez_vous", "moment": moment}]
    _set_status(outreach, "rdv_demande", "appointment_requested", followups=followups)


def mark_claimed(access: Access, outreach_id: int) -> None:
    """The social worker records that the claim was filed."""
    outreach = _outreach(outreach_id)
    audit.record(access.actor, "change", purpose=access.purpose, person_ids=[outreach.person_id],
                 sections=[Section.PRESTATIONS.value], detail={"outreach": outreach.pk, "status": "demande"})
    _set_status(outreach, "demande", "claim_filed", claimed_at=clock.now())


def received_as(benefit: str) -> str:
    """The registry's code of a screened benefit (what "already receiving" looks for)."""
    aid = local_aids().get(benefit) if benefit.startswith(local_aid_rules.PREFIX) else None
    return aid.received_as if aid else domain.RECEIVED_AS.get(benefit, benefit)


def note_decision(outreach_id: int) -> None:
    """The paying body's decision arrived in the feed (the take-up follow-up will see it)."""
    outreach = _outreach(outreach_id)
    Outreach.objects.filter(pk=outreach.pk).update(
        followups=[*outreach.followups, {"at": clock.now().isoformat(), "step": "decision"}], updated_at=clock.now())


def granted_recorded(outreach: Outreach) -> bool:
    return any(f.get("step") == "decision" for f in outreach.followups)


def follow_up(today: Any = None) -> dict[str, int]:
    """Take-up checks at M+1 and M+3 after the information: through API Particulier where the benefit has an
    operation, else the feed of benefits paid; a right found open ends the journey as a success."""
    from proactif.connectors import services as connectors
    from proactif.connectors.domain import ApiError, CallContext, Identity

    now = clock.now()
    figures: Counter[str] = Counter()
    for outreach in Outreach.objects.filter(status__in=LIVE_OUTREACH).exclude(instance_id=None).iterator():
        done = {f["step"] for f in outreach.followups}
        due = [step for step, months in FOLLOW_UPS
               if step not in done and now >= outreach.created_at + timedelta(days=30 * months)]
        if not due and outreach.status == "demande" and "M+3" in done:  # then monthly, until the decision
            if outreach.claimed_at and now > outreach.claimed_at + CLAIM_DECISION_WAIT:
                Outreach.objects.filter(pk=outreach.pk).update(status="sans_suite", updated_at=now)
                figures["without_take_up"] += 1
                continue
            last = max(f["at"] for f in outreach.followups if f.get("checks"))
            if now >= datetime.fromisoformat(last) + timedelta(days=30):
                due = ["M+" + str(round((now - outreach.created_at).days / 30))]
        if not due:
            continue
        step = due[-1]
        context = CallContext(purpose="rights.take_up", actor="tâche droits.suivi", person_id=outreach.person_id)
        identity = Identity(**registry.identity_pivot(outreach.person_id))
        paid = registry.benefits_of_household(outreach.household_id)
        checks = []
        for item in outreach.benefits:
            benefit = item["benefit"]
            operation = TAKE_UP_OPERATIONS.get(benefit)
            found: dict[str, Any] = {"benefit": benefit, "source": "flux des prestations versées"}
            if operation:
                try:
                    answer = connectors.particulier_call(operation, context, identity=identity, refresh=True)
                    found.update(source=f"API Particulier ({operation})",
                                 receiving=bool(answer.data.get("est_beneficiaire")),
                                 since=answer.data.get("date_debut_droit"))
                except ApiError as error:  # the feed still tells
                    found.update(source=f"flux des prestations versées (API Particulier : {error.code})")
                    figures["errors"] += 1
            code = received_as(benefit)
            if "receiving" not in found:
                found["receiving"] = code in paid
            if found.get("receiving") and code in paid:
                found["amount"] = paid[code]
            checks.append(found)
        record = [*outreach.followups, *({"at": now.isoformat(), "step": s, "checks": checks} for s in due)]
        granted = [c for c in checks if c.get("receiving")]
        Outreach.objects.filter(pk=outreach.pk).update(followups=record, updated_at=now)
        figures["checked"] += 1
        if granted:
            _set_status(outreach, "ouvert", "right_granted", granted_at=now)
            figures["granted"] += 1
        elif step == FOLLOW_UPS[-1][0] and outreach.status != "demande":  # a claim filed waits for its decision
            Outreach.objects.filter(pk=outreach.pk).update(status="sans_suite")
            figures["without_take_up"] += 1
    return dict(figures)


def funnel(run_id: int | None = None) -> dict[str, Any]:
    """The outreach funnel and take-up rates, per status and per benefit."""
    qs = Outreach.objects.all() if run_id is None else Outreach.objects.filter(run_id=run_id)
    statuses = Counter(qs.values_list("status", flat=True))
    total = sum(statuses.values())
    per_benefit: dict[str, Counter[str]] = {}
    for status, benefits in qs.values_list("status", "benefits"):
        for item in benefits:
            per_benefit.setdefault(item["benefit"], Counter())[status] += 1
    informed = total - statuses["a_informer"]
    return {"total": total, "statuses": {code: statuses.get(code, 0) for code, _ in Outreach.STATUS},
            "labels": dict(Outreach.STATUS),
            "take_up_rate": round(statuses["ouvert"] / informed, 3) if informed else 0.0,
            "claim_rate": round((statuses["demande"] + statuses["ouvert"]) / informed, 3) if informed else 0.0,
            "refusal_rate": round(statuses["refuse"] / informed, 3) if informed else 0.0,
            "per_benefit": {b: {"informed": sum(c.values()), "granted": c["ouvert"],
                                "rate": round(c["ouvert"] / sum(c.values()), 3)} for b, c in per_benefit.items()}}


def outreach_for_person(person_id: int) -> Outreach | None:
    return Outreach.objects.filter(person_id=person_id).first()


def outreaches(status: str = "") -> QuerySet[Outreach]:
    qs = Outreach.objects.all()
    return qs.filter(status=status) if status else qs


def claim_summary(access: Access, outreach_id: int) -> dict[str, Any]:
    """What the pre-filled claim summary shows: the benefits, the data used and their source (audited)."""
    outreach = _outreach(outreach_id)
    data = explanation(access, outreach.run_id, outreach.household_id)
    data["outreach"] = outreach
    data["generated_at"] = clock.now()
    return data


def _chunk_in_child(job: tuple[int, int]) -> int:
    result = executor.run_in_worker("rights.screen_chunk", job)
    return int(result.get("households", 0)) if isinstance(result, dict) else 0


def run_locally(run_id: int, workers: int, progress: Any = None) -> ScreeningRun:
    """Take a run's pending chunks here: one process per worker (forked once the tax-benefit system is built,
    so that they share it), or in this process for one worker. `progress(done)` gets households done."""
    import multiprocessing

    from django.db import connections

    openfisca.tax_benefit_system()
    jobs = [(run_id, index) for index in pending_chunks(run_id)]
    if workers > 1 and len(jobs) > 1:  # a few households of the first chunk (not the whole registry again)
        first = ScreeningChunk.objects.get(run_id=run_id, index=jobs[0][1])
        screening.warm_up(first.household_ids[:WARM_UP], get_run(run_id).period)
    done = get_run(run_id).households_done
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            result = executor.run_task("rights.screen_chunk", job)
            done += int(result.get("households", 0))
            if progress:
                progress(done)
        return get_run(run_id)
    connections.close_all()  # each child opens its own
    with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
        for households in pool.imap_unordered(_chunk_in_child, jobs):
            done += households
            if progress:
                progress(done)
    return get_run(run_id)


def wait_for(run_id: int, progress: Any = None, poll: float = 1.0) -> ScreeningRun:
    """Follow a run the workers take (Celery, embedded executor) until it is done or failed."""
    import time

    while True:
        run = get_run(run_id)
        if progress:
            progress(run.households_done)
        if run.status in ("done", "failed"):
            return run
        time.sleep(poll)
