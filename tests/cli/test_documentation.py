"""A setting or a command that the documentation does not mention is a defect."""

from pathlib import Path

import click

from proactif.cli import main
from proactif.kernel.config import registered_variables

ROOT = Path(__file__).resolve().parents[2]


def documentation() -> str:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_environment_variable_is_documented() -> None:
    import proactif.settings  # noqa: F401 - reading the settings registers every variable
    from proactif.bench.common import bench_home, postgres_server
    from proactif.synth.services import quartiers_file

    quartiers_file(), bench_home(), postgres_server()  # variables read on demand register when read
    text = documentation()
    missing = [v.name for v in registered_variables() if f"`{v.name}`" not in text]
    assert missing == []


def commands(group: click.Group, prefix: str = "proactif") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        full = f"{prefix} {name}"
        names.append(full)
        if isinstance(command, click.Group):
            names.extend(commands(command, full))
    return names


def test_every_command_is_documented_with_an_example() -> None:
    text = documentation()
    missing = [name for name in commands(main) if name not in text]
    assert missing == []
    for name, command in main.commands.items():
        if not isinstance(command, click.Group) and not command.hidden:
            assert "Example:" in (command.help or ""), name
