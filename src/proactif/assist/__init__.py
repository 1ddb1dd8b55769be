"""Assist (use case 3): the town's public website — pages agents write and publish in the CMS (Wagtail), a
French search that forgives typos and missing accents, consent asked the CNIL way, and the visitors' queries
understood by theme."""
