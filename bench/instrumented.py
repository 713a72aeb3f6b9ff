"""`python -m bench.instrumented run server.py [streamlit options]`: `streamlit run` with the server
measuring itself, for the browser benchmarks (bench.measure.BenchServer starts it). Nothing in the
product is changed; this process patches, before the app starts:

- each script run (full or fragment) of every session: start, server time from the run's start
  (ScriptRunContext.reset) to its end (ScriptRunner._on_script_finished), the CPU time of the
  script thread in between (what the run itself cost, whatever else the machine is doing) and of
  the whole process (with the event loop's sending of the run's messages meanwhile), whether
  it was a fragment run and which fragments it ran (by function name: "live_cards" for the cards'
  3 s check, "connect_dialog" for the dialog's polling), and how it ended;
- within that run's thread: calls to the SQLite store (reads, writes, the others: version, lease)
  and to the webhook client, and the time spent waiting for webhooks (to subtract the provider's
  own latency).

One JSON line per run is appended to the file named by $BENCH_EVENTS. Calls made on other threads
are not attributed to a run: the status monitor's sweeps, the provider events' route, the pool of
"Verificar agora". They are counted together, by label, in the JSON file named by
$BENCH_BACKGROUND, rewritten every BACKGROUND_DUMP_S when they changed.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time

from bench.counting import STORE_OTHERS, STORE_READS, STORE_WRITES

BACKGROUND_DUMP_S = 0.5

_local = threading.local()
_write_lock = threading.Lock()
_background: dict[str, int] = {}
_background_lock = threading.Lock()
_fragment_names: dict[str, str] = {}  # fragment id -> the name of the function it runs


def _record(label: str, original, *, webhook: bool = False):
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        run = getattr(_local, "run", None)
        if run is None:
            with _background_lock:
                _background[label] = _background.get(label, 0) + 1
            return original(*args, **kwargs)
        run["calls"][label] = run["calls"].get(label, 0) + 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            if webhook:
                run["webhook_ms"] += (time.perf_counter() - started) * 1000
    return wrapper


def _dump_background(path: str) -> None:
    """Rewrite the background counts whenever they changed (a daemon thread: no end to wait for)."""
    written = None
    while True:
        time.sleep(BACKGROUND_DUMP_S)
        with _background_lock:
            calls = dict(_background)
        if calls != written:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"at": time.time(), "calls": calls}, fh)
            os.replace(tmp, path)
            written = calls


def _name_fragments() -> None:
    """Learn each fragment's function name when Streamlit makes its id (a private helper: without
    it, runs are still recorded, their fragments named "?")."""
    from streamlit.runtime import fragment

    make_identity = getattr(fragment, "_make_fragment_identity", None)
    if make_identity is None:
        return

    @functools.wraps(make_identity)
    def naming(func, *, delta_path, additional_hash_info):
        identity = make_identity(func, delta_path=delta_path, additional_hash_info=additional_hash_info)
        # a dialog is a fragment running dialog_content; the hash info is the decorated function's name
        _fragment_names[identity.fragment_id] = additional_hash_info or func.__qualname__
        return identity

    fragment._make_fragment_identity = naming


def install(events_path: str, background_path: str | None = None) -> None:
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    from lib.provider.webhooks import WebhookClient
    from lib.store.sqlite.instances import SQLiteInstanceStore

    for kind, names in (("read", STORE_READS), ("write", STORE_WRITES), ("other", STORE_OTHERS)):
        for name in names:
            setattr(SQLiteInstanceStore, name, _record(f"store.{kind}.{name}", getattr(SQLiteInstanceStore, name)))
    for name in ("create", "connect", "status", "disconnect"):
        setattr(WebhookClient, name, _record(f"webhook.{name}", getattr(WebhookClient, name), webhook=True))
    _name_fragments()
    if background_path:
        threading.Thread(target=_dump_background, args=(background_path,), name="bench-background",
                         daemon=True).start()

    reset, finished = ScriptRunContext.reset, ScriptRunner._on_script_finished

    @functools.wraps(reset)
    def reset_and_start(self, *args, **kwargs):
        reset(self, *args, **kwargs)
        fragment_ids = kwargs.get("fragment_ids_this_run")
        _local.run = {
            "start": time.time(),
            "t0": time.perf_counter(),
            "cpu0": time.thread_time(),
            "process_cpu0": time.process_time(),
            "session": self.session_id,
            "fragment": bool(fragment_ids),
            "fragments": [_fragment_names.get(i, "?") for i in fragment_ids] if fragment_ids else None,
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
                run["process_cpu_ms"] = round((time.process_time() - run.pop("process_cpu0")) * 1000, 3)
                run["webhook_ms"] = round(run["webhook_ms"], 3)
                run["event"] = getattr(event, "name", str(event))
                with _write_lock, open(events_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(run) + "\n")

    ScriptRunContext.reset = reset_and_start
    ScriptRunner._on_script_finished = finish_and_record


def main() -> None:
    from harness.server import run_streamlit  # here, not above: the measured server imports no more than it must

    install(os.environ["BENCH_EVENTS"], os.environ.get("BENCH_BACKGROUND"))
    run_streamlit()


if __name__ == "__main__":
    main()
