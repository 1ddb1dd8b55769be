"""What the generator decided for each synthetic household: the benefits it could claim under the legislation
at the seed date, and whether it claims them (the published non-take-up rates) — the ground truth the
screening's detections are measured against (`proactif bench rights`: precision and recall per benefit)."""

from django.db import models


class Entitlement(models.Model):
    """One benefit of one synthetic household: eligible under the generator's rules, received or not."""

    household = models.ForeignKey("registry.Household", on_delete=models.CASCADE, related_name="+")
    famille_id = models.BigIntegerField(null=True, blank=True)  # the chèque énergie is the ménage's
    benefit = models.CharField(max_length=30)  # the screening's benefit names (css_gratuite, aspa…)
    eligible = models.BooleanField()
    receiving = models.BooleanField()
    monthly_amount = models.DecimalField(max_digits=10, decimal_places=2)
    seeded_on = models.DateField()  # the date whose legislation decided it
