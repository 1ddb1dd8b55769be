"""The access rules the site's routes share (one place, read by the declaration and the route modules)."""

from proactif.kernel.capabilities import agent, public

PURPOSE = "information"  # the communication service's purpose: the site, its CMS, the newsletters
SITE = public("le site public de la collectivité : des contenus publiés pour tous, rien sur les habitants du "
              "registre")
CHOICE = public("les choix du visiteur sur son propre navigateur (cookies, centres d'intérêt) : ils ne désignent "
                "personne, la preuve du consentement est gardée sous un identifiant aléatoire")
VISITOR = public("le profil de personnalisation du visiteur qui l'a accepté : il n'atteint que le profil que son "
                 "propre cookie désigne, jamais celui d'un autre")
SUBSCRIBER = public("l'abonnement de celui qui tient le lien signé reçu à son adresse : il n'atteint que cet "
                    "abonnement")
EDITORS = agent(PURPOSE)
