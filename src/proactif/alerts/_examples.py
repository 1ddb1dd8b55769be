"""An alert's messages as residents will receive them, shown on the form before they go to thousands: for each
channel the alert's type uses (a letter only for what is announced days ahead), the published template
rendered with the agent's text, the area, an example resident and a stand-in link of the real length — with,
for an SMS, its length, its encoding (GSM-7 or UCS-2, and the characters that force UCS-2) and its segments
(`messaging.sms_info`, the template editor's counter). In English too when the agent wrote an English text (the
residents who asked for English get it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proactif.alerts import _reach as reach
from proactif.alerts import domain
from proactif.messaging import services as messaging

PLACEHOLDER = "[Votre message]"  # where the agent's text goes, before they have written it
NO_AREA = "[zone]"  # where the area's name goes, before one is chosen
CHANNEL_TITLES = {"sms": "SMS", "email": "E-mail", "push": "Notification", "letter": "Courrier", "whatsapp": "WhatsApp",
                  "messenger": "Messenger"}


@dataclass(frozen=True)
class ChannelExample:
    channel: str
    title: str  # the channel, as a heading
    subject: str
    body: str
    sms: dict[str, Any] | None  # `messaging.sms_info` of the SMS
    english: messaging.Example | None  # the English version, when the agent wrote one and the channel has one
    english_sms: dict[str, Any] | None


def channel_examples(type_code: str, title: str, zone: str, exercise: bool,
                     texts: dict[str, str]) -> list[ChannelExample]:
    policy, template_key = reach.policy_of(type_code)
    channels = [c for c in policy if c in CHANNEL_TITLES]  # the alert's order; "!letter" is not a channel
    french = (texts.get("fr") or "").strip() or PLACEHOLDER
    english = (texts.get("en") or "").strip()
    data = {"alerte": domain.message_view(type_code, title, "alerte", {"fr": french, "en": english}, zone, exercise,
                                          1)}
    out = []
    translated = {e.channel: e for e in messaging.render_examples(template_key, data, channels, "en")
                  if e.language == "en"} if english else {}
    for example in messaging.render_examples(template_key, data, channels, "fr"):
        other = translated.get(example.channel)
        out.append(ChannelExample(
            example.channel, CHANNEL_TITLES[example.channel], example.subject, example.body,
            messaging.sms_info(example.body) if example.channel == "sms" else None, other,
            messaging.sms_info(other.body) if other is not None and example.channel == "sms" else None))
    return out
