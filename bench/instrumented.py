"""`python -m bench.instrumented run app.py [streamlit options]`: `streamlit run` with the server
measuring itself, for the browser benchmarks. Nothing in the product is changed; this process
patches, before the app starts:

- each script run (full or fragment) of every session: start, server time from the run's start
  (ScriptRunContext.reset) to its end (ScriptRunner._on_script_finished), the CPU time of the
  script thread in between (what the run itself cost, whatever else the machine is doing), whether
  it was a fragment run, and how it ended;
- within that run's thread: calls to the SQLite store (reads, writes) and to the webhook client,
  and the time spent waiting for webhooks (to subtract the provider's own latency).

One JSON line per run is appended to the file named by $BENCH_EVENTS. Calls made on other threads
(the bulk refresh's pool) are not attributed to a run.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time

_local = threading.local()
_write_lock = threading.Lock()


def _record(label: str, original, *, webhook: bool = False):
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        run = getattr(_local, "run", None)
        if run is None:
            return original(*args, **kwargs)
        run["calls"][label] = run["calls"].get(label, 0) + 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            if webhook:
                run["webhook_ms"] += (time.perf_counter() - started) * 1000
    return wrapper


def install(events_path: str) -> None:
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    from lib.store.sqlite import SQLiteInstanceStore
    from lib.provider.webhooks import WebhookClient

    for name in ("list_instances", "get_instance", "instance_token"):
        setattr(SQLiteInstanceStore, name, _record(f"store.read.{name}", getattr(SQLiteInstanceStore, name)))
    for name in ("insert_instance", "update_status", "delete_instance"):
        setattr(SQLiteInstanceStore, name, _record(f"store.write.{name}", getattr(SQLiteInstanceStore, name)))
    for name in ("create", "connect", "status", "disconnect"):
        setattr(WebhookClient, name, _record(f"webhook.{name}", getattr(WebhookClient, name), webhook=True))

    reset, finished = ScriptRunContext.reset, ScriptRunner._on_script_finished

    @functools.wraps(reset)
    def reset_and_start(self, *args, **kwargs):
        reset(self, *args, **kwargs)
        _local.run = {
            "start": time.time(),
            "t0": time.perf_counter(),
            "cpu0": time.thread_time(),
            "session": self.session_id,
            "fragment": bool(kwargs.get("fragment_ids_this_run")),
            "calls": {},
            "webhook_ms": 0.0,
        }

    @functools.wraps(finished)
    def finish_and_record(self, ctx, event, *args, **kwargs):
        try:
            return finished(self, ctx, event, *args, **kwargs)
        finally:
            run, _local.run = getattr(_local, "run", None), None
            if run is not None:
                run["ms"] = round((time.perf_counter() - run.pop("t0")) * 1000, 3)
                run["cpu_ms"] = round((time.thread_time() - run.pop("cpu0")) * 1000, 3)
                run["webhook_ms"] = round(run["webhook_ms"], 3)
                run["event"] = getattr(event, "name", str(event))
                with _write_lock, open(events_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(run) + "\n")

    ScriptRunContext.reset = reset_and_start
    ScriptRunner._on_script_finished = finish_and_record


def main() -> None:
    install(os.environ["BENCH_EVENTS"])
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
