"""The register of vulnerable people (L121-6-1 CASF), its contacts and its health data kept apart, and the
heatwave and cold-wave plans with their daily rounds.

People are referenced by id (`person_id`): the registry owns them. The referent and the emergency contacts are
often not residents: they are stored on the entry and covered by the registered person's GDPR handling.
"""

from __future__ import annotations

from django.db import models

from proactif.watch import domain


class Registration(models.Model):
    """An entry of the register (R121-4 CASF): one per person, its history in `RegistrationEvent`."""

    STATUS = [("inscrite", "Inscrite"), ("radiee", "Radiée")]
    QUALITES = list(domain.QUALITES.items())
    DEMANDEURS = [(k, v[0].upper() + v[1:]) for k, v in domain.DEMANDEURS.items()]

    person_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=STATUS, default="inscrite", db_index=True)
    qualite = models.CharField(max_length=12, choices=QUALITES)
    handicap = models.JSONField(default=list, blank=True)  # keys of domain.HANDICAP_TITRES (R121-3 3°)
    requested_on = models.DateField()  # « date de la demande »
    requested_by = models.CharField(max_length=14, choices=DEMANDEURS)
    third_party_name = models.CharField(max_length=200, blank=True)  # « nom et qualité du tiers »
    third_party_quality = models.CharField(max_length=20, blank=True)
    transmission = models.CharField(max_length=10, blank=True)  # apa | pch | carsat (loi 2024-317)
    telephone = models.CharField(max_length=20, blank=True)  # E.164, as given for the register
    home_service = models.CharField(max_length=200, blank=True)  # « service intervenant à domicile »
    lives_alone = models.BooleanField(null=True)  # optional, with the person's agreement
    no_family_nearby = models.BooleanField(default=False)
    quartier_id = models.BigIntegerField(null=True, blank=True)  # for the board, set at enrolment and on moves
    acknowledged_on = models.DateField(null=True, blank=True)  # the acknowledgement (8 days)
    confirmed_on = models.DateField(null=True, blank=True)  # the yearly confirmation (product choice)
    removal_asked_on = models.DateField(null=True, blank=True)
    removed_on = models.DateField(null=True, blank=True)
    removal_reason = models.CharField(max_length=14, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "quartier_id"], name="watch_reg_status_q")]


class RegistrationEvent(models.Model):
    """The entry's history: request, acknowledgement, objection, confirmation, change, removal (append-only)."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    by = models.CharField(max_length=254, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Contact(models.Model):
    """The referent or a person to warn in an emergency (« personne à prévenir en cas d'urgence »)."""

    ROLES = [("referent", "Référent"), ("urgence", "Personne à prévenir en cas d'urgence")]

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(max_length=10, choices=ROLES)
    name = models.CharField(max_length=200)
    relation = models.CharField(max_length=100, blank=True)  # fille, voisin, aide à domicile…
    telephone = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=254, blank=True)
    nearby = models.BooleanField(default=False)  # lives close enough to call round
    rank = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["registration_id", "role", "rank", "id"]


class Need(models.Model):
    """« Besoins particuliers » — health data (RGPD art. 9), kept apart from the entry, entered with the person's
    explicit agreement and deleted when the entry is removed or the agreement withdrawn."""

    registration = models.OneToOneField(Registration, on_delete=models.CASCADE, related_name="need")
    text = models.CharField(max_length=500)
    agreed_on = models.DateField()
    agreement_source = models.CharField(max_length=30)  # écrit, téléphone, guichet
    recorded_by = models.CharField(max_length=254, blank=True)
    updated_at = models.DateTimeField()


class VigilanceReading(models.Model):
    """A Météo-France vigilance level for a département and a phenomenon, as it reached the platform (an
    agent's entry, a file, the URL), and what it did: the journal of the plan's triggers."""

    departement = models.CharField(max_length=3)
    phenomenon = models.CharField(max_length=12)
    level = models.PositiveSmallIntegerField()
    day = models.DateField()
    source = models.CharField(max_length=10)  # agent | fichier | url | cli
    recorded_by = models.CharField(max_length=254, blank=True)
    recorded_at = models.DateTimeField()
    ours = models.BooleanField()  # a département of the collectivité
    effect = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]


class Plan(models.Model):
    """A heatwave or cold-wave plan of the collectivité: its level follows the vigilance; orange and red start
    the campaign of daily rounds."""

    STATUS = [(k, v) for k, v in domain.PLAN_LABELS.items()]

    phenomenon = models.CharField(max_length=12)
    departement = models.CharField(max_length=3)
    level = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=14, choices=STATUS)
    interval_days = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    raised_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=254, blank=True)

    @property
    def colour_name(self) -> str:
        """« orange », the vigilance colour the plan stands at."""
        return domain.COULEURS[self.level]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["phenomenon", "departement"],
                                               condition=models.Q(ended_at__isnull=True), name="watch_one_live_plan")]


class CheckIn(models.Model):
    """A registered person's contact on a day of a plan's campaign."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="checkins")
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="checkins")
    person_id = models.BigIntegerField()
    day = models.DateField()
    quartier_id = models.BigIntegerField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    reasons = models.JSONField(default=list)
    call_first = models.BooleanField(default=False)
    answer = models.CharField(max_length=12, blank=True)  # ok | besoin_aide
    answer_channel = models.CharField(max_length=10, blank=True)  # sms | appel | visite | proche
    answered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    handled_at = models.DateTimeField(null=True, blank=True)  # a need for help taken in charge
    handled_by = models.CharField(max_length=254, blank=True)
    instance_id = models.BigIntegerField(null=True, blank=True)  # the journey following the no-answer path
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "registration", "day"], name="watch_checkin_once")]
        indexes = [models.Index(fields=["plan", "day", "answer"], name="watch_checkin_day")]


class Call(models.Model):
    """An agent's call (or visit) and its outcome, append-only."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField()
    by = models.CharField(max_length=254)
    outcome = models.CharField(max_length=16)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]


# --- home devices and their telemetry (issue 18) ------------------------------------------------------------------
class Device(models.Model):
    """A device lent to registered persons: its kind, its serial, how often it reports, its battery and state.
    A device authenticates with its own token (only its hash is kept)."""

    KINDS = [("constantes", "Capteur de constantes"), ("oxymetre", "Oxymètre"), ("tensiometre", "Tensiomètre"),
             ("thermometre", "Thermomètre"), ("mouvement", "Détecteur de mouvement"),
             ("presence", "Détecteur de présence"), ("chute", "Détecteur de chute"),
             ("bouton", "Bouton « tout va bien »")]
    STATES = [("inconnu", "Jamais connecté"), ("en_ligne", "En ligne"), ("hors_ligne", "Hors ligne")]

    serial = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=12, choices=KINDS)
    token_hash = models.CharField(max_length=64, blank=True)  # sha256 of the device's own token
    expected_interval_s = models.PositiveIntegerField(default=300)
    battery = models.PositiveSmallIntegerField(null=True, blank=True)  # %
    state = models.CharField(max_length=10, choices=STATES, default="inconnu")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()


class DeviceLoan(models.Model):
    """A device lent to a person from `start_on` to `end_on` (open: still lent)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="loans")
    person_id = models.BigIntegerField(db_index=True)
    start_on = models.DateField()
    end_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["device_id", "start_on"]


class Observation(models.Model):
    """One reading of a device, idempotent by (device, time, code): a duplicate or a late copy changes nothing.
    Health data (RGPD art. 9): readable under prévention santé only; kept `PROACTIF_WATCH_RAW_RETENTION_DAYS`."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="observations")
    person_id = models.BigIntegerField(null=True)  # the person the device was lent to at `at`
    code = models.CharField(max_length=20)  # heart_rate, respiratory_rate, temperature, spo2, systolic_bp…
    at = models.DateTimeField()
    value = models.FloatField()
    unit = models.CharField(max_length=12)
    source = models.CharField(max_length=6)  # mqtt | fhir
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "at", "code"], name="watch_observation_once")]
        indexes = [models.Index(fields=["person_id", "code", "at"], name="watch_obs_person_code_at")]


class HourlyAggregate(models.Model):
    """A person's vital sign over one hour: count, mean, min, max (the trends read these; kept 2 years)."""

    person_id = models.BigIntegerField()
    code = models.CharField(max_length=20)
    hour = models.DateTimeField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person_id", "code", "hour"], name="watch_hourly_once")]

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class DeadLetter(models.Model):
    """A message the ingestion refused — malformed, forged, an unknown device — with the reason: counted and shown
    on the desk, never silently dropped; kept as long as raw readings."""

    received_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=6)  # mqtt | fhir
    origin = models.CharField(max_length=200)  # the topic, or the HTTP client (device serial, API key)
    reason = models.CharField(max_length=300)
    payload = models.TextField(blank=True)  # its first 2,000 characters


class RuleState(models.Model):
    """What the rules remember about a person between readings (`watch.rules.PersonState`, as JSON)."""

    person_id = models.BigIntegerField(unique=True)
    state = models.TextField()
    updated_at = models.DateTimeField()


class Alert(models.Model):
    """A deterioration or a device problem the rules found: one open alert per (person, rule), acknowledged and
    resolved by an agent with a note; kept 5 years (`PROACTIF_WATCH_ALERT_RETENTION_DAYS`)."""

    SEVERITIES = [("info", "Information"), ("warning", "Avertissement"), ("critical", "Critique")]
    STATUS = [("ouverte", "Ouverte"), ("acquittee", "Acquittée"), ("resolue", "Résolue")]

    person_id = models.BigIntegerField()
    rule = models.CharField(max_length=80)
    severity = models.CharField(max_length=8, choices=SEVERITIES)
    status = models.CharField(max_length=9, choices=STATUS, default="ouverte")
    vital = models.CharField(max_length=20, blank=True)
    value = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)
    found_at = models.DateTimeField()  # the reading's time
    opened_at = models.DateTimeField()  # when the platform raised it
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=254, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=500, blank=True)
    escalation_id = models.BigIntegerField(null=True, blank=True)  # the journey instance paging people about it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person_id", "rule"], condition=~models.Q(status="resolue"),
                                               name="watch_one_open_alert")]
        indexes = [models.Index(fields=["status", "severity"], name="watch_alert_desk")]


class OnCallShift(models.Model):
    """Who is on call for the watch desk, from when to when, and on which phone (changes are audited)."""

    agent = models.CharField(max_length=254)
    phone = models.CharField(max_length=20)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    handover = models.CharField(max_length=500, blank=True)  # what the previous shift hands over
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]


class PersonThresholds(models.Model):
    """A person's thresholds, when a clinician changed them: the programme they start from (`rules.PROGRAMMES`) and
    the bounds set apart from it (vital → {bound name: value or None}). No row: the default programme."""

    person_id = models.BigIntegerField(unique=True)
    programme = models.CharField(max_length=40)
    overrides = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=254)


class ThresholdChange(models.Model):
    """The history of a person's thresholds (append-only): who changed them and when, the programme and every bound
    before and after, and the clinician's instruction the change carries out (name, date, reason)."""

    person_id = models.BigIntegerField(db_index=True)
    at = models.DateTimeField()
    by = models.CharField(max_length=254)  # the agent
    programme_before = models.CharField(max_length=40)
    programme_after = models.CharField(max_length=40)
    before = models.JSONField(default=dict)  # rules.as_dict of the effective thresholds
    after = models.JSONField(default=dict)
    clinician = models.CharField(max_length=200)
    instructed_on = models.DateField()
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
