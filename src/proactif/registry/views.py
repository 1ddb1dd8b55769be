from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.accounts.domain import PURPOSES, AccessDenied
from proactif.kernel import clock, tables
from proactif.registry import domain, services
from proactif.registry._csvfiles import CsvFormatError
from proactif.registry._importers import HeaderError, sample_csv
from proactif.registry.forms import SAMPLE_FILES, ConsentForm, ImportForm, MergeForm
from proactif.registry.models import Person

SEARCH_KINDS = {"name": "nom", "address": "adresse", "phone": "téléphone", "email": "e-mail"}


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    raw_page = request.GET.get("page", "1")
    page = min(int(raw_page), services.SEARCH_PAGES) if raw_page.isascii() and raw_page.isdigit() and \
        0 < len(raw_page) <= 4 and int(raw_page) > 0 else 1
    access = request.access
    parsed, persons, more = services.search_page(access, query, 50, 50 * (page - 1)) if query else (None, [], False)
    context = {"q": query, "parsed": parsed, "persons": persons, "page": page, "first": 50 * (page - 1) + 1,
               "last": 50 * (page - 1) + len(persons), "more": more and page < services.SEARCH_PAGES,
               "kind_label": SEARCH_KINDS.get(
        parsed.kind, "") if parsed else "", "purposes": [(p, PURPOSES[p].label) for p in sorted(access.actor.purposes)],
        "purpose": access.purpose, "today": clock.today()}
    template = "registry/_results.html" if request.headers.get("HX-Request") else "registry/search.html"
    return render(request, template, context)


@require_GET
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    return _person_page(request, person_id, ConsentForm())


def _person_page(request: HttpRequest, person_id: int, consent_form: ConsentForm, status: int = 200) -> HttpResponse:
    access = request.access
    try:
        file = services.person_file(access, person_id)
    except Person.DoesNotExist:
        raise Http404("habitant inconnu") from None
    except AccessDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return render(request, "registry/person.html", {
        "f": file, "p": file.person, "consent_form": consent_form, "purpose_label": PURPOSES[access.purpose].label,
        "purposes": [(p, PURPOSES[p].label) for p in sorted(access.actor.purposes)], "purpose": access.purpose,
        "today": clock.today()}, status=status)


@require_POST
def record_consent(request: HttpRequest, person_id: int) -> HttpResponse:
    """A decision given at the counter. A form with a mistake comes back with its message beside the field
    (400), nothing recorded."""
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.record_consent(request.access, person_id, source="guichet",
                                    proof={"agent": request.actor.label, "support": form.cleaned_data["support"]},
                                    **{k: form.cleaned_data[k] for k in ("purpose", "channel", "decision",
                                                                         "text_version")})
        except domain.FieldError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.reason)
        except Person.DoesNotExist:
            raise Http404("habitant inconnu") from None
        else:
            messages.success(request, "Décision enregistrée dans le registre des consentements.")
            return redirect("registry:person", person_id=person_id)
    messages.error(request, "Consentement non enregistré : corrigez le formulaire.")
    return _person_page(request, person_id, form, status=400)


# --- duplicates -----------------------------------------------------------------------------
DUPLICATE_COLUMNS = (
    tables.Column("a", "Fiche A"), tables.Column("b", "Fiche B"),
    tables.Column("probabilite", "Probabilité", sort="score"), tables.Column("indices", "Indices"),
    tables.Column("action", "Action", export=False),
)

@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    access = request.access
    merges = services.recent_merges(20)

    def prepare(rows: list[Any], action: str) -> list[Any]:
        services.log_list_view(access, [pk for s in rows for pk in (s.person_a_id, s.person_b_id)]
                               + [m.survivor_id for m in merges], "duplicates")
        return rows

    table = tables.Table(request, services.pending_suggestions(), DUPLICATE_COLUMNS, per_page=25,
                         caption="Paires à examiner", prepare=prepare,
                         count="paire à examiner|paires à examiner|aucune paire à examiner")
    return render(request, "registry/duplicates.html", {"table": table, "merges": merges})


@require_http_methods(["GET", "POST"])
def duplicate(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    access = request.access
    try:
        suggestion = services.get_suggestion(suggestion_id)
    except services.MergeSuggestion.DoesNotExist:
        raise Http404("suggestion inconnue") from None
    form = MergeForm(request.POST or None, pair=(suggestion.person_a_id, suggestion.person_b_id))
    if request.method == "POST":
        if request.POST.get("action") == "reject":
            services.reject_suggestion(access, suggestion_id)
            messages.success(request, "Suggestion rejetée : ces deux fiches ne seront plus proposées.")
            return redirect("registry:duplicates")
        if form.is_valid():
            survivor = int(form.cleaned_data["survivor"])
            other = suggestion.person_b_id if survivor == suggestion.person_a_id else suggestion.person_a_id
            try:
                services.merge_persons(access, survivor, other, form.cleaned_data["reason"], suggestion_id)
            except services.MergeError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Fiches fusionnées. La fusion peut être annulée depuis la liste des "
                                          "doublons.")
                return redirect("registry:person", person_id=survivor)
    a = services.person_file(access, suggestion.person_a_id)
    b = services.person_file(access, suggestion.person_b_id)
    departed = [f.person for f in (a, b) if f.person.status != "active"]  # warned before merging into them
    return render(request, "registry/duplicate.html", {"s": suggestion, "a": a, "b": b, "form": form,
                                                       "departed": departed},
                  status=400 if request.method == "POST" else 200)


@require_POST
def unmerge(request: HttpRequest, merge_id: int) -> HttpResponse:
    try:
        services.unmerge(request.access, merge_id)
    except services.Merge.DoesNotExist:
        raise Http404("fusion inconnue") from None
    except services.MergeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Fusion annulée : les deux fiches sont de nouveau distinctes.")
    return redirect("registry:duplicates")


# --- imports --------------------------------------------------------------------------------
def _import_kinds() -> list[dict[str, object]]:
    """What each kind of file the page imports holds: its columns and its sample file (the same definitions the
    importer checks a file against)."""
    return [{"kind": kind, "label": label, "columns": services.IMPORTERS[kind].columns,
             "sample": SAMPLE_FILES[kind]} for kind, label in ImportForm.base_fields["kind"].choices]  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = services.queue_import(form.cleaned_data["kind"], upload.name, upload.chunks(),
                                        access=request.access)
        except (CsvFormatError, HeaderError) as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, "Fichier reçu : l'import se poursuit en arrière-plan.")
            return redirect("registry:import_run", run_id=run.pk)
    return render(request, "registry/imports.html", {"form": form, "runs": services.import_runs(),
                                                     "kinds": _import_kinds()},
                  status=400 if request.method == "POST" else 200)


@require_GET
def import_sample(request: HttpRequest, kind: str) -> HttpResponse:
    """The sample file of a kind of import, written from the columns its importer reads."""
    by_name = {name: code for code, name in SAMPLE_FILES.items()}
    if kind not in by_name:
        raise Http404("pas de fichier d'exemple de ce nom")
    response = HttpResponse(sample_csv(services.IMPORTERS[by_name[kind]].columns),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="exemple-{kind}.csv"'
    return response


@require_GET
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """The report of an import. While the run goes on, the page asks for the whole report again every 2 s — its
    figures and its rejected lines, read together, so they never come from two moments."""
    try:
        run = services.import_run(run_id)
    except services.ImportRun.DoesNotExist:
        raise Http404("import inconnu") from None
    page = Paginator(run.rejections.all(), 100).get_page(request.GET.get("page"))
    services.log_import_report_view(request.access, run.pk)  # rejected lines quote the file's values
    template = "registry/_import_report.html" if request.headers.get("HX-Request") else "registry/import_run.html"
    return render(request, template, {"run": run, "page": page})
