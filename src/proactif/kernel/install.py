"""Reference data every installation needs (services, shipped templates and journeys, a counter), set up by
each capability's declared `install` — idempotent, run after the migrations by every command — and what runs
beside the server or a simulation in this process (the built-in sinks), each capability's `alongside`."""

from __future__ import annotations

from typing import Any

from proactif.kernel import capabilities

_started: list[Any] = []  # what `start_alongside` started in this process


def install() -> list[str]:
    done = []
    for capability in capabilities.declared():
        if capability.install is not None:
            capability.install()
            done.append(capability.name)
    return done


def start_alongside(simulation: bool = False) -> list[str]:
    started = []
    for capability in capabilities.declared():
        if capability.alongside is not None:
            running = capability.alongside(simulation)
            if running is not None:
                _started.append(running)
                started.append(capability.name)
    return started


def step_alongside() -> None:
    """After each step of a simulation, in its thread."""
    for running in list(_started):
        step = getattr(running, "step", None)
        if step is not None:
            step()


def warm_up() -> list[str]:
    """Each capability's `warm_up`, in a daemon thread of this process (a web worker, after the fork: a thread
    importing modules in the arbiter while it forks would leave the import lock held in the worker)."""
    import threading

    started = []
    for capability in capabilities.declared():
        if capability.warm_up is not None:
            threading.Thread(target=capability.warm_up, name=f"warm-up-{capability.name}", daemon=True).start()
            started.append(capability.name)
    return started


def stop_alongside() -> None:
    while _started:
        _started.pop().stop()
