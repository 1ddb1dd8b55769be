"""The kernel: the clock, the executor and the scheduler's jobs, deferred indexes — nothing about people."""

from proactif.kernel.capabilities import Capability, NoPersonalData

CAPABILITY = Capability(
    name="kernel", label="Noyau",
    personal_data=NoPersonalData("l'horloge simulée, les tâches périodiques et les index différés ne désignent "
                                 "personne"),
)
