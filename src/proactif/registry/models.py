"""The registry: one view of each citizen — people, households, addresses, contacts, consents, documents."""

from __future__ import annotations

from django.db import models

from proactif.registry.domain import short_name


class Quartier(models.Model):
    """An administrative neighbourhood (polygon in GeoJSON, WGS84)."""

    code = models.CharField(max_length=20, unique=True)
    nom = models.CharField(max_length=200)
    code_insee = models.CharField(max_length=5, blank=True)
    code_postal = models.CharField(max_length=5, blank=True)
    geometry = models.JSONField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.nom


class Voie(models.Model):
    """A street (or lieu-dit) of a commune; `cle` is its normalised name for search."""

    code_insee = models.CharField(max_length=5)
    nom = models.CharField(max_length=200)
    cle = models.CharField(max_length=200, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code_insee", "cle"], name="voie_unique_par_commune")]
        ordering = ["nom"]

    def __str__(self) -> str:
        return self.nom


class Address(models.Model):
    """An address point (BAN/BAL): `cle_interop` is the national key when known."""

    cle_interop = models.CharField(max_length=64, unique=True, null=True, blank=True)
    voie = models.ForeignKey(Voie, on_delete=models.PROTECT, related_name="addresses")
    numero = models.PositiveIntegerField(null=True, blank=True)
    suffixe = models.CharField(max_length=10, blank=True)
    complement = models.CharField(max_length=200, blank=True)  # lieu-dit complément
    code_postal = models.CharField(max_length=5, blank=True)
    code_insee = models.CharField(max_length=5)
    commune = models.CharField(max_length=200)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    quartier = models.ForeignKey(Quartier, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="addresses")
    source = models.CharField(max_length=20, default="import")
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["voie", "numero"])]

    @property
    def label(self) -> str:
        number = f"{self.numero}{(' ' + self.suffixe) if self.suffixe else ''} " if self.numero else ""
        return f"{number}{self.voie.nom}"

    def __str__(self) -> str:
        return f"{self.label}, {self.code_postal} {self.commune}"


class Household(models.Model):
    """A dwelling's household (the OpenFisca `menage`), holding one or more familles and foyers fiscaux."""

    OCCUPATION = [("proprietaire", "Propriétaire"), ("locataire", "Locataire du parc privé"),
                  ("locataire_hlm", "Locataire HLM"), ("loge_gratuitement", "Logé gratuitement"),
                  ("sans_domicile", "Sans domicile stable")]

    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, blank=True, related_name="households")
    logement = models.CharField("complément (étage, appartement)", max_length=100, blank=True)
    statut_occupation = models.CharField(max_length=20, choices=OCCUPATION, blank=True)
    loyer = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField()


class Famille(models.Model):
    """The OpenFisca `famille` (CAF household): parents and dependent children."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="familles")
    numero_allocataire = models.CharField(max_length=20, blank=True)


class FoyerFiscal(models.Model):
    """The OpenFisca `foyer_fiscal` (tax household): declarants and dependants."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="foyers_fiscaux")
    numero_fiscal = models.CharField(max_length=13, blank=True)  # SPI of the first declarant


class Person(models.Model):
    """A resident, identified by the identité pivot (and the NIR when known)."""

    STATUS = [("active", "Résident"), ("moved_out", "Parti de la commune"), ("deceased", "Décédé"),
              ("merged", "Fusionné dans une autre fiche"), ("anonymised", "Anonymisé")]
    SEXE = [("F", "Femme"), ("M", "Homme")]
    MENAGE_ROLES = [("personne_de_reference", "Personne de référence"), ("conjoint", "Conjoint"),
                    ("enfant", "Enfant"), ("autre", "Autre membre")]
    FAMILLE_ROLES = [("parent", "Parent"), ("enfant", "Enfant")]
    FOYER_ROLES = [("declarant", "Déclarant"), ("personne_a_charge", "Personne à charge")]

    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    nom_naissance = models.CharField(max_length=100)
    nom_usage = models.CharField(max_length=100, blank=True)
    prenoms = models.CharField(max_length=200)
    sexe = models.CharField(max_length=1, choices=SEXE)
    date_naissance = models.DateField(null=True, blank=True, db_index=True)
    code_insee_naissance = models.CharField(max_length=5, blank=True)  # commune (France) or 99xxx (pays)
    lieu_naissance = models.CharField(max_length=200, blank=True)
    nir = models.CharField(max_length=15, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUS, default="active", db_index=True)
    status_changed_on = models.DateField(null=True, blank=True)
    household = models.ForeignKey(Household, on_delete=models.SET_NULL, null=True, blank=True, related_name="members")
    menage_role = models.CharField(max_length=30, choices=MENAGE_ROLES, blank=True)
    famille = models.ForeignKey(Famille, on_delete=models.SET_NULL, null=True, blank=True, related_name="members")
    famille_role = models.CharField(max_length=20, choices=FAMILLE_ROLES, blank=True)
    foyer_fiscal = models.ForeignKey(FoyerFiscal, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="members")
    foyer_role = models.CharField(max_length=20, choices=FOYER_ROLES, blank=True)
    taux_incapacite = models.PositiveSmallIntegerField(default=0)
    langue = models.CharField(max_length=5, default="fr")  # language of the messages sent to the person
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=30, default="import")
    # Normalised keys for search and matching (kernel.text.search_key)
    nom_cle = models.CharField(max_length=100, db_index=True)
    usage_cle = models.CharField(max_length=100, blank=True, db_index=True)
    prenoms_cle = models.CharField(max_length=200)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["nom_cle", "prenoms_cle"], name="person_name_idx")]

    @property
    def prenom(self) -> str:
        return self.prenoms.split(" ")[0] if self.prenoms else ""

    SOURCE_LABELS = {"synth": "commune synthétique", "import": "import", "agent": "saisie d'un agent",
                     "api": "API", "portail": "portail"}

    @property
    def source_label(self) -> str:
        """Where the record comes from, as an agent reads it (« commune synthétique », not `synth`)."""
        return self.SOURCE_LABELS.get(self.source, self.source)

    @property
    def display_name(self) -> str:
        return short_name(self.prenoms, self.nom_usage, self.nom_naissance)

    def __str__(self) -> str:
        return self.display_name


class PersonAlias(models.Model):
    """Another source's identifier for a person, recorded when a deterministic match linked them."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="aliases")
    external_id = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=30)
    created_at = models.DateTimeField()


class ContactPoint(models.Model):
    KINDS = [("email", "E-mail"), ("phone", "Téléphone"), ("postal", "Adresse postale"),
             ("messenger", "Messenger (identifiant de page)")]
    STATUS = [("active", "Valide"), ("invalid", "Invalide"), ("bouncing", "En échec de distribution")]

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=10, choices=KINDS)
    value = models.CharField(max_length=320)  # e-mail normalised, phone in E.164, postal as lines
    is_mobile = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=STATUS, default="active")
    source = models.CharField(max_length=30, default="import")
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "kind", "value"], name="contact_unique")]
        indexes = [models.Index(fields=["kind", "value"], name="contact_value_idx")]


def _channel_choices() -> list[tuple[str, str]]:
    from proactif.kernel import capabilities

    return [(code, c.label[0].upper() + c.label[1:]) for code, c in capabilities.channels().items()]


class ChannelPreference(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="channel_preferences")
    channel = models.CharField(max_length=20, choices=_channel_choices)  # the channels capabilities declare
    rank = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "channel"], name="preference_channel_unique"),
            models.UniqueConstraint(fields=["person", "rank"], name="preference_rank_unique"),
        ]
        ordering = ["person", "rank"]


class Consent(models.Model):
    """The consent ledger: every decision is a new row — grants, refusals and withdrawals alike.

    The current state for (person, purpose, channel) is the latest row; `channel` "*" means every channel.
    """

    DECISIONS = [("granted", "Accordé"), ("denied", "Refusé"), ("revoked", "Retiré")]

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=50)
    channel = models.CharField(max_length=20, default="*")
    decision = models.CharField(max_length=10, choices=DECISIONS)
    source = models.CharField(max_length=30)  # portail, guichet, formulaire, import, agent, sms…
    text_version = models.CharField(max_length=30)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=254, blank=True)
    proof = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "purpose", "channel", "recorded_at"], name="consent_state_idx")]


class OptOut(models.Model):
    """An opposition: a person (or a contact value, e.g. after an SMS STOP) refuses a purpose or a channel."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="opt_outs")
    contact_value = models.CharField(max_length=320, blank=True, db_index=True)
    purpose = models.CharField(max_length=50, default="*")
    channel = models.CharField(max_length=20, default="*")
    source = models.CharField(max_length=30)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)


class Document(models.Model):
    KINDS = [("cni", "Carte nationale d'identité"), ("passeport", "Passeport"),
             ("titre_sejour", "Titre de séjour"), ("permis_conduire", "Permis de conduire"),
             ("carte_piscine", "Abonnement piscine"), ("permis_stationnement", "Carte de stationnement résident"),
             ("carte_bibliotheque", "Carte de bibliothèque"), ("autre", "Autre")]
    STATUS = [("valide", "Valide"), ("expire", "Expiré"), ("en_renouvellement", "En renouvellement"),
              ("perdu", "Déclaré perdu"), ("vole", "Déclaré volé"), ("annule", "Annulé")]

    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=30, choices=KINDS)
    numero = models.CharField(max_length=30, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUS, default="valide")
    source = models.CharField(max_length=30, default="import")
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "expires_on"], name="document_expiry_idx")]


class Resource(models.Model):
    """A monthly income stream of a person (wages, unemployment benefit, pension…): its net amount, and its gross
    and taxable amounts when the source gives them (the benefits do not all read the same one: the ASPA reads
    gross pensions and wages, the RSA net ones, housing aid taxable ones)."""

    KINDS = [("salaire", "Salaire"), ("chomage", "Allocation chômage (ARE)"),
             ("retraite", "Pension de retraite"), ("invalidite", "Pension d'invalidité"),
             ("independant", "Revenus d'indépendant"), ("bourse", "Bourse d'études"),
             ("pension_alimentaire", "Pension alimentaire"), ("autre", "Autre")]

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=30, choices=KINDS)
    monthly_amount = models.DecimalField(max_digits=10, decimal_places=2)  # net (montant net social)
    gross_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)  # brut
    taxable_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)  # net imposable
    start_on = models.DateField(null=True, blank=True)
    end_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=30, default="import")


class BenefitReceipt(models.Model):
    """A benefit currently (or formerly) paid, to a famille or to a person."""

    BENEFITS = [("rsa", "RSA"), ("prime_activite", "Prime d'activité"), ("aide_logement", "Aide au logement"),
                ("aah", "AAH"), ("aspa", "ASPA (minimum vieillesse)"), ("css", "Complémentaire santé solidaire"),
                ("af", "Allocations familiales"), ("cheque_energie", "Chèque énergie"),
                ("asf", "Allocation de soutien familial")]

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, null=True, blank=True, related_name="benefits")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="benefits")
    benefit = models.CharField(max_length=30, choices=BENEFITS)
    monthly_amount = models.DecimalField(max_digits=10, decimal_places=2)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=30, default="import")


class MonthlyResource(models.Model):
    """A person's resources for a month as a feed reports them (montant net social per person and month; the gross
    and taxable amounts when the feed carries them, as the DSN and PASRAU declarations do)."""

    KINDS = Resource.KINDS
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="monthly_resources")
    month = models.DateField()  # first day of the month
    kind = models.CharField(max_length=30, choices=KINDS)
    amount = models.DecimalField(max_digits=10, decimal_places=2)  # montant net social
    gross_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)  # brut
    taxable_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)  # net imposable
    source = models.CharField(max_length=30, default="import")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "month", "kind"], name="monthly_resource_unique")]
        indexes = [models.Index(fields=["month"], name="monthly_resource_month_idx")]


class BenefitPayment(models.Model):
    """A benefit paid to a person for a month, as the paying body's feed reports it."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="benefit_payments")
    benefit = models.CharField(max_length=30, choices=BenefitReceipt.BENEFITS)
    month = models.DateField()  # first day of the month
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    source = models.CharField(max_length=30, default="import")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "benefit", "month"], name="benefit_payment_unique")]
        indexes = [models.Index(fields=["month", "benefit"], name="benefit_payment_month_idx")]


class ImportRun(models.Model):
    """One import of a file: counts, progress (for resuming) and the rejected lines."""

    kind = models.CharField(max_length=20)  # residents | addresses | documents | resources | benefits
    filename = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, default="running")  # queued | running | done | failed
    lines_total = models.PositiveIntegerField(null=True, blank=True)
    lines_done = models.PositiveIntegerField(default=0)  # last line committed (resume point; header = 1)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # another position of an address already read (BAL)
    started_by = models.CharField(max_length=254, blank=True)
    error = models.TextField(blank=True)

    KIND_LABELS = {"residents": "Habitants", "addresses": "Adresses", "documents": "Titres et documents",
                   "resources": "Ressources", "benefits": "Prestations"}
    STATUS_LABELS = {"queued": "En attente", "running": "En cours", "done": "Terminé", "failed": "En échec"}

    @property
    def kind_label(self) -> str:
        return self.KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)

    class Meta:
        ordering = ["-started_at"]

    @property
    def lines_read(self) -> int:
        """Data lines read so far (blank lines and the header are not lines of data): each is counted once, in
        one outcome, so the report's figures add up by construction; `lines_total` is counted the same way."""
        return self.created + self.updated + self.unchanged + self.rejected + self.skipped

    @property
    def in_progress(self) -> bool:
        return self.status in ("queued", "running")


class ImportRejection(models.Model):
    """A rejected line of an import: line number (1 = header), field and reason."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=100)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["line", "id"]


class Merge(models.Model):
    """An explicit merge of a duplicate into a survivor, with what moved — so it can be undone."""

    survivor = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    duplicate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    moved = models.JSONField(default=dict)  # {"contacts": [ids], "documents": [ids], ...}
    survivor_before = models.JSONField(default=dict)  # identity fields the merge filled in
    duplicate_status_before = models.CharField(max_length=20)
    reason = models.CharField(max_length=500)
    merged_by = models.CharField(max_length=254)
    merged_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=254, blank=True)


class MergeSuggestion(models.Model):
    """A probable duplicate found by record linkage, for an agent to confirm or reject."""

    STATUS = [("pending", "À examiner"), ("merged", "Fusionnée"), ("rejected", "Rejetée")]

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(db_index=True)
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=STATUS, default="pending", db_index=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person_a", "person_b"], name="suggestion_pair_unique")]


class FiguresSnapshot(models.Model):
    """The dashboard's figures as last computed (the scans take seconds on a million residents)."""

    computed_at = models.DateTimeField()
    figures = models.JSONField()
