"""`{% datatable table %}<tr>…</tr>{% enddatatable %}`: a `kernel.tables.Table` in the current DSFR table markup —
the count and the export button above, the sortable headers, the rows the page writes, the pager below."""

from __future__ import annotations

from django import template
from django.template.base import Parser, Token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

register = template.Library()


class DataTableNode(template.Node):
    def __init__(self, table: template.base.FilterExpression, nodelist: template.NodeList):
        self.table, self.nodelist = table, nodelist

    def render(self, context: template.Context) -> SafeString:
        table = self.table.resolve(context)
        body = self.nodelist.render(context)
        return render_to_string("web/includes/datatable.html", {"table": table, "body": body},
                                request=context.get("request"))


@register.tag
def datatable(parser: Parser, token: Token) -> DataTableNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% datatable table %}…{% enddatatable %}")
    nodelist = parser.parse(("enddatatable",))
    parser.delete_first_token()
    return DataTableNode(parser.compile_filter(bits[1]), nodelist)

