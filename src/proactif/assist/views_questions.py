"""(filled by its issue-20 part)"""

from proactif.kernel.capabilities import Route

ROUTES: tuple[Route, ...] = ()
