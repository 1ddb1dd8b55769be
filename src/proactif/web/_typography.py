"""French typography on every HTML page, as the messages have it (`messaging.domain.typeset`): typographic
apostrophes, a narrow no-break space before « : ; ! ? » and inside the guillemets, a no-break space between a
number and its unit — applied to the text between tags, so templates and the data they show are written plainly
and read correctly.

Left as they are: tags and their attributes (form values, URLs, scripts' data), and the content of `script`,
`style`, `textarea`, `pre`, `code`, `samp` and `kbd` — what must stay verbatim, such as an SMS shown as it is sent
(plain apostrophes, GSM-7) or a template's source. Only `text/html` responses are touched, never files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from proactif.messaging.domain import typeset

_VERBATIM_OR_TAG = re.compile(r"<(script|style|textarea|pre|code|samp|kbd)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>",
                              re.S | re.I)
_ESCAPED_APOSTROPHE = re.compile(r"(?<=\w)&#(?:x27|39);(?=\w)")
MAX_BYTES = 2_000_000  # a page larger than this goes out as it is (an export shown in the browser)


def _text(segment: str) -> str:
    if not segment or segment.isspace():
        return segment
    return typeset(_ESCAPED_APOSTROPHE.sub("\u2019", segment), "email")


def typeset_html(html: str) -> str:
    out: list[str] = []
    position = 0
    for match in _VERBATIM_OR_TAG.finditer(html):
        out.append(_text(html[position:match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_text(html[position:]))
    return "".join(out)


class TypographyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.get("Content-Type", "").startswith("text/html") and not response.streaming
                and not response.has_header("Content-Disposition") and len(response.content) < MAX_BYTES):
            charset = response.charset or "utf-8"
            response.content = typeset_html(response.content.decode(charset)).encode(charset)
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response
