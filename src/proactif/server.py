"""The web server: gunicorn (threads) embedded, serving the WSGI application and static files."""

from __future__ import annotations

import os
import shutil
from typing import Any

from gunicorn.app.base import BaseApplication


class ProactifServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], embedded_work: bool, executor_threads: int):
        self.options = options
        self.embedded_work = embedded_work
        self.executor_threads = executor_threads
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

        def child_exit(server: Any, worker: Any) -> None:
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

        self.cfg.set("child_exit", child_exit)

        def when_ready(server: Any) -> None:  # in the arbiter, once: the built-in sinks…
            from proactif.kernel.install import start_alongside

            start_alongside()

        self.cfg.set("when_ready", when_ready)
        embedded, threads = self.embedded_work, self.executor_threads

        def post_worker_init(worker: Any) -> None:
            from proactif.kernel.install import warm_up

            warm_up()  # the query classifier's model, loaded before the first search asks for it
            if embedded:
                from proactif.kernel.runner import start_embedded

                start_embedded(threads)

        self.cfg.set("post_worker_init", post_worker_init)

    def load(self) -> Any:
        from proactif.wsgi import application

        return application


def share_metrics_between_workers() -> None:
    """Several worker processes: Prometheus counters are shared through files, so /metrics adds up every
    worker's figures whichever one answers. Must run before prometheus_client is first imported."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from proactif.kernel.config import home_dir

    folder = home_dir() / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def serve(host: str, port: int, workers: int = 1, threads: int = 8, embedded_work: bool = True,
          executor_threads: int = 4) -> None:
    ProactifServer({
        "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
        "timeout": 120, "graceful_timeout": 10, "accesslog": None, "errorlog": "-", "loglevel": "warning",
        "forwarded_allow_ips": "127.0.0.1",
    }, embedded_work, executor_threads).run()
