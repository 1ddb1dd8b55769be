"""(filled by its issue-20 part)"""

from proactif.kernel.capabilities import LinkTarget, Route

ROUTES: tuple[Route, ...] = ()
LINK_TARGETS: tuple[LinkTarget, ...] = ()
