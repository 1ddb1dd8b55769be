"""The collectivité's visual identity: colours derived from PROACTIF_PRIMARY_COLOR."""

from __future__ import annotations


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    if len(value) != 6:
        raise ValueError(f"couleur invalide : {hex_colour} (attendu #rrggbb)")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def mix(hex_colour: str, other: str, share: float) -> str:
    a, b = _rgb(hex_colour), _rgb(other)
    return _hex(tuple(x * (1 - share) + y * share for x, y in zip(a, b, strict=True)))  # type: ignore[arg-type]


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def stylesheet(primary: str, state_identity: bool) -> str:
    """CSS custom properties overriding DSFR's blue-france action colours with the collectivité's."""
    if contrast(primary, "#ffffff") < 4.5:
        raise ValueError(f"PROACTIF_PRIMARY_COLOR {primary} n'a pas un contraste de 4,5:1 sur blanc (RGAA 3.2)")
    light = mix(primary, "#ffffff", 0.9)
    colours = {
        "--background-action-high-blue-france": primary,
        "--background-action-high-blue-france-hover": mix(primary, "#000000", 0.18),
        "--background-action-high-blue-france-active": mix(primary, "#000000", 0.3),
        "--text-action-high-blue-france": primary,
        "--text-title-blue-france": primary,
        "--text-active-blue-france": primary,
        "--text-label-blue-france": primary,
        "--border-action-high-blue-france": primary,
        "--border-active-blue-france": primary,
        "--border-plain-blue-france": primary,
        "--border-default-blue-france": mix(primary, "#ffffff", 0.6),
        "--artwork-major-blue-france": primary,
        "--background-active-blue-france": primary,
        "--background-active-blue-france-hover": mix(primary, "#000000", 0.18),
        "--background-active-blue-france-active": mix(primary, "#000000", 0.3),
        "--background-action-low-blue-france": light,
        "--background-alt-blue-france": mix(primary, "#ffffff", 0.95),
        "--background-contrast-blue-france": light,
        "--background-open-blue-france": light,
    }
    body = ";".join(f"{name}:{value}" for name, value in colours.items())
    font = "" if state_identity else (
        'body,input,button,select,textarea,.fr-btn{font-family:"Segoe UI",system-ui,-apple-system,'
        '"Helvetica Neue",Arial,sans-serif}')
    return f":root:not([data-fr-theme=dark]){{{body}}}{font}"
