"""French number formats of the agent pages: Django's, with the narrow no-break space French typography puts
between thousands (« 1 620,18 € », « 19 763 habitants »)."""

from django.conf.locale.fr.formats import *  # noqa: F403 - Django's French formats, overridden below

THOUSAND_SEPARATOR = "\u202f"
DECIMAL_SEPARATOR = ","
NUMBER_GROUPING = 3
