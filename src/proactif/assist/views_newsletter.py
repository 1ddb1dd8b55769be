"""(filled by its issue-20 part)"""

from proactif.kernel.capabilities import Listener, Route, Sending

ROUTES: tuple[Route, ...] = ()
LISTENERS: tuple[Listener, ...] = ()
SENDING: tuple[Sending, ...] = ()
