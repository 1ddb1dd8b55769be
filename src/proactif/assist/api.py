"""(filled by its issue-20 part: the recommendations API)"""

from proactif.kernel.capabilities import ApiRouter, Scope

API: ApiRouter | None = None
SCOPES: tuple[Scope, ...] = ()
