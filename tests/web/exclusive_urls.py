"""A URL configuration with one page kept for a purpose (`agent(..., exclusive=True)`), as the register of
vulnerable people will be: its declaration, added to the real ones by tests/web/test_exclusive_pages.py."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from proactif.kernel.capabilities import Capability, HomeBlock, Nav, NoPersonalData, Pages, agent, route, tagged
from proactif.urls import urlpatterns as declared

REGISTER = agent("prevention_sante", exclusive=True)


def register(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"registre consulté au titre de {request.access.purpose}")  # type: ignore[attr-defined]


CAPABILITY = Capability(
    name="registre_test", label="Registre (test)", personal_data=NoPersonalData("une page de test"),
    pages=(Pages("registre-test/", "registre_test", (route("", register, REGISTER, "register"),)),),
    nav=(Nav("Registre de test", "registre_test:register", 99),),
    home=(HomeBlock("Registre de test", "registre_test:register", "messaging/_home_sinks.html",
                    lambda access: {"total": 0, "per_channel": []}, 99),),
)

urlpatterns = [*declared, path("registre-test/", include(([path("", tagged(register, REGISTER), name="register")],
                                                          "registre_test")))]
