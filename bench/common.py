"""Shared by the benchmark scripts: results file, tables, seeding the store and the provider,
counting calls, AppTest as admin, the real server (`streamlit run server.py`, instrumented or not),
headless Chromium and what the pages show (cards, badges).

Every script prints a table and updates its own key of bench/results.json. Nothing here asserts a
time: the targets are compared and reported, never enforced as test failures.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.config.provider import WEBHOOK_ACTIONS, WebhookSettings  # noqa: E402
from lib.store.sqlite.database import SQLiteDatabase  # noqa: E402

RESULTS_PATH = ROOT / "bench" / "results.json"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # what Debian's Chromium needs here, as root and without network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Several pages at once: none of them may have its timers (the 3 s ticks) throttled.
UNTHROTTLED_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# Variables that would switch the app away from the embedded default (see lib/config/settings.py,
# lib/provider/sandbox/shared.py) or change its monitor and events.
CONFIG_ENV_PREFIXES = ("WEBHOOK_", "SUPABASE_", "SANDBOX_", "STREAMLIT_", "MONITOR_", "EVENTS_", "APP_")
ADMIN_EMAIL = "admin@example.com"
PASSWORD = "s3nha-forte-123"
HEALTH_TIMEOUT_S = 60
POLL_INTERVAL_S = 3.0  # lib/ui/connect_dialog.py POLL_INTERVAL_MS
WATCH_S = 3.0  # lib/ui/instances_tab.py WATCH_SECONDS: the cards ask the store whether anything changed
# The store's methods, as bench.instrumented and CallCounter sort them (the monitor's included).
STORE_READS = ("list_instances", "get_instance", "instance_token", "instances_with_tokens", "find_by_instance_id")
STORE_WRITES = ("insert_instance", "update_status", "record_check", "mark_checked", "record_check_failure",
                "delete_instance")
STORE_OTHERS = ("version", "claim_lease", "release_lease")  # version: an in-process counter on SQLite


# -- results --------------------------------------------------------------------------------------
def save_results(key: str, data: dict) -> None:
    """Merge `data` under `key` into bench/results.json (each script owns one key)."""
    results = {}
    if RESULTS_PATH.exists():
        try:
            results = json.loads(RESULTS_PATH.read_text(encoding="utf-8"))
        except ValueError:
            results = {}
    results[key] = data
    tmp = RESULTS_PATH.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS_PATH)


def target(name: str, figure: str, goal: str, met: bool) -> dict:
    """One line of the summary printed by bench.run_all."""
    return {"name": name, "figure": figure, "target": goal, "met": bool(met)}


def table(headers: list[str], rows: Iterable[Iterable]) -> str:
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def print_targets(targets: list[dict]) -> None:
    print(table(["target", "figure", "goal", "met"],
                [(t["name"], t["figure"], t["target"], "yes" if t["met"] else "NO") for t in targets]))


def report(key: str, lines: list[str], result: dict) -> None:
    """Print a benchmark's own lines, a blank line and its targets; save its result under `key`."""
    print("\n".join(lines))
    print()
    print_targets(result["targets"])
    save_results(key, result)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- store and provider ---------------------------------------------------------------------------
def seed_instances(database: SQLiteDatabase, count: int, *, webhooks: WebhookSettings | None = None,
                   prefix: str = "Instância") -> list[str]:
    """`count` rows written in one transaction (insert_instance would commit each). Without
    `webhooks` a third of them are shown connected; with it, each is first created at that provider
    (16 at a time) and starts disconnected, so that webhooks work on it. Returns the names, oldest
    first (the cards show the newest first)."""
    from lib.provider.webhooks import WebhookClient

    names = [f"{prefix} {i:04d}" for i in range(count)]
    if webhooks:
        client = WebhookClient(webhooks)
        with ThreadPoolExecutor(max_workers=16) as pool:
            credentials = [(c.instance_id, c.token) for c in pool.map(client.create, names)]
    else:
        credentials = [(f"seed-{i:04d}-{secrets.token_hex(3)}", secrets.token_urlsafe(24)) for i in range(count)]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = []
    for i, (name, (instance_id, token)) in enumerate(zip(names, credentials)):
        connected = webhooks is None and i % 3 == 0
        created = (start + timedelta(minutes=i)).isoformat(timespec="microseconds")
        rows.append((str(uuid.uuid4()), instance_id, token, name, f"+55119{i:08d}" if connected else None,
                     "connected" if connected else "disconnected", created, created))
    with database.connect() as conn:
        conn.executemany(
            "insert into instances (id, instance_id, token, name, phone_number, status, created_at, updated_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return names


def seed_connected(database: SQLiteDatabase, provider, count: int, prefix: str) -> list[str]:
    """`count` instances created at `provider` (a SandboxProvider in this process) and connected
    there, as if their phones had scanned the QR; the store still says disconnected until the
    app's monitor asks (its first sweep, at the server's start). Returns the names, oldest first."""
    from lib.provider.webhooks import WebhookClient
    from lib.store.sqlite.instances import SQLiteInstanceStore

    names = seed_instances(database, count, webhooks=provider.webhook_settings(), prefix=prefix)
    store, client = SQLiteInstanceStore(database), WebhookClient(provider.webhook_settings())
    for instance in store.list_instances():
        if instance.name in names:
            client.connect(instance.instance_id, store.instance_token(instance.id))
            if not provider.simulate_scan(instance.instance_id):
                raise RuntimeError(f"{instance.name}: the sandbox did not connect it")
    return names


def instance_ids(database: SQLiteDatabase) -> dict[str, str]:
    """Instance name -> the provider's instance id."""
    from lib.store.sqlite.instances import SQLiteInstanceStore

    return {i.name: i.instance_id for i in SQLiteInstanceStore(database).list_instances()}


# -- AppTest ----------------------------------------------------------------------------------------
def isolated_env(data_dir: Path) -> None:
    """This process on the embedded default with its own data dir (for AppTest runs)."""
    for key in list(os.environ):
        if key.startswith(CONFIG_ENV_PREFIXES):
            del os.environ[key]
    os.environ["APP_DATA_DIR"] = str(data_dir)
    os.environ["APP_SECRETS_FILE"] = str(data_dir / "no-secrets.toml")


def admin_apptest(data_dir: Path, instances: int = 0):
    """An AppTest of app.py signed in as admin, on the embedded default with `data_dir`, after
    seeding `instances` rows (before signing in: the session caches the list it reads first)."""
    from lib.context import app_context
    from lib.config.settings import current_settings
    from tests.ui.test_app_ui import APP, App, log_in

    isolated_env(data_dir)
    context = app_context(current_settings())
    if context.accounts.count() == 0:
        context.accounts.add(ADMIN_EMAIL, PASSWORD, "admin")
    seed_instances(context.database, instances)
    at = log_in(App(APP, default_timeout=60).run(), ADMIN_EMAIL, PASSWORD)
    return at, context


class CallCounter:
    """Counts calls to methods of classes while active (a class-level patch, undone on exit)."""

    READS = STORE_READS
    WRITES = STORE_WRITES
    OTHERS = STORE_OTHERS

    def __init__(self, targets: dict[type, Iterable[str]]):
        self.targets = {cls: tuple(names) for cls, names in targets.items()}
        self.counts: dict[str, int] = {}
        self._saved: list[tuple[type, str, object]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "CallCounter":
        for cls, names in self.targets.items():
            for name in names:
                original = cls.__dict__[name]
                self._saved.append((cls, name, original))
                setattr(cls, name, self._wrap(f"{cls.__name__}.{name}", original))
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, original in reversed(self._saved):
            setattr(cls, name, original)
        self._saved.clear()

    def _wrap(self, label: str, original):
        def counted(*args, **kwargs):
            with self._lock:
                self.counts[label] = self.counts.get(label, 0) + 1
            return original(*args, **kwargs)
        return counted

    def total(self, names: Iterable[str]) -> int:
        return sum(n for label, n in self.counts.items() if label.split(".")[-1] in set(names))


def store_and_webhook_counter() -> CallCounter:
    from lib.store.sqlite.instances import SQLiteInstanceStore
    from lib.provider.webhooks import WebhookClient

    return CallCounter({
        SQLiteInstanceStore: CallCounter.READS + CallCounter.WRITES + CallCounter.OTHERS,
        WebhookClient: WEBHOOK_ACTIONS,
    })


# -- a real server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate, and kill if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def healthy(url: str) -> bool:
    """Streamlit's health endpoint answers ok."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process so far (from /proc/PID/stat), None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory_mb(pid: int, key: str = "VmRSS") -> float | None:
    """A memory figure of /proc/PID/status (VmRSS, VmHWM...) in MB, None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / ticks, sum(values[:8]) / ticks


@dataclass
class AppServer:
    """The product as `make run` starts it, `streamlit run server.py` (app.py, the routes of
    lib/api.py and the status monitor in its lifespan), on a free loopback port, with its own data
    dir and nothing of the developer's configuration: webhooks pointed at `webhooks`, or the
    embedded sandbox when None; `env` adds settings (MONITOR_INTERVAL_SECONDS...).

    With `instrumented` it runs under bench.instrumented: each script run is appended to
    events.jsonl (see runs()), calls made outside any run (the monitor, provider events) are
    counted in background.json (see background()). A context manager: the process is always
    stopped. Raises RuntimeError, with the log, when it does not start."""

    work_dir: Path
    webhooks: WebhookSettings | None = None
    env: dict[str, str] = field(default_factory=dict)
    instrumented: bool = True
    data_dir: Path | None = None  # default: work_dir / "data"
    process: subprocess.Popen | None = None

    def __post_init__(self):
        self.data_dir = self.data_dir or self.work_dir / "data"
        self.events_path = self.work_dir / "events.jsonl"
        self.background_path = self.work_dir / "background.json"
        self.port = free_port()
        self.log_path = self.work_dir / f"streamlit-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = SQLiteDatabase.in_dir(self.data_dir)

    def add_user(self, email: str = ADMIN_EMAIL, role: str = "admin") -> str:
        from lib.auth.accounts import LocalAccounts

        LocalAccounts(self.database).add(email, PASSWORD, role)
        return email

    def start(self) -> "AppServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_ENV_PREFIXES)}
        if self.webhooks is not None:
            env.update({f"WEBHOOK_{a.upper()}_URL": self.webhooks.url_for(a) for a in WEBHOOK_ACTIONS})
        env.update(APP_DATA_DIR=str(self.data_dir), APP_SECRETS_FILE=str(self.work_dir / "no-secrets.toml"),
                   BENCH_EVENTS=str(self.events_path), BENCH_BACKGROUND=str(self.background_path),
                   PYTHONUNBUFFERED="1")
        env.update(self.env)  # may point APP_SECRETS_FILE at a secrets file of the test's
        runner = ["bench.instrumented"] if self.instrumented else ["streamlit"]
        command = [sys.executable, "-m", *runner, "run", "server.py",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--server.headless", "true",
                   "--server.fileWatcherType", "none",  # others' edits must not reload the app mid-run
                   "--browser.gatherUsageStats", "false"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not healthy(f"{self.url}/_stcore/health"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not start:\n{self.log()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            stop_process(process, 15)

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid) if self.alive() else None

    def memory_mb(self, key: str = "VmRSS") -> float | None:
        return process_memory_mb(self.process.pid, key) if self.alive() else None

    def runs(self, since: float = 0.0) -> list[dict]:
        """Script runs recorded by bench.instrumented that started at or after `since` (epoch s)."""
        if not self.events_path.exists():
            return []
        runs = [json.loads(line) for line in self.events_path.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in runs if r["start"] >= since]

    def background(self) -> dict[str, int]:
        """Calls made outside any script run so far, by label (bench.instrumented writes them
        every half second: wait that long after the calls before asking)."""
        if not self.background_path.exists():
            return {}
        return json.loads(self.background_path.read_text(encoding="utf-8"))["calls"]


def work_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))


# -- the browser ---------------------------------------------------------------------------------------
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
DIALOG = '[role="dialog"]'


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*CHROMIUM_ARGS, *UNTHROTTLED_ARGS])


def new_page(browser, init_script: str | None = None):
    """A page in a context of its own (its own cookies: its own session), as tests/ui/test_browser.py."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="pt-BR")
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def settle(page, *, start_timeout_ms: int = 1_000, timeout_ms: int = 30_000) -> None:
    """Wait until the run triggered by the last interaction is over (as tests/ui/test_browser.py)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_selector(BUSY, state="attached", timeout=start_timeout_ms)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def log_in_browser(page, url: str, email: str = ADMIN_EMAIL) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("E-mail", exact=True).press("Tab")
    page.get_by_label("Senha", exact=True).fill(PASSWORD)
    page.get_by_label("Senha", exact=True).press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    settle(page)
    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    settle(page)


def card(page, name: str):
    """The card of `name`: the row of its text (name in bold first) and its buttons (as
    tests/ui/test_browser.py)."""
    name_in_bold = page.locator("strong", has_text=re.compile(rf"^{re.escape(name)}$"))
    return name_in_bold.locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")


def badge(page, name: str, label: str):
    """The status badge of the card of `name`, if it says `label` ("Conectado", "Desconectado"...)."""
    return card(page, name).locator("span").filter(has=page.locator('[role="img"]')).filter(
        has_text=re.compile(rf"\s{label}$"))


# Records in window.__benchSeen[key] the wall-clock time (epoch ms) at which the card of `name`
# first contains `text` (the same card as card() finds), from a MutationObserver: the moment the
# page's DOM shows it, whichever run brought it.
WATCH_CARD = r"""
([key, name, text]) => {
  const root = document.querySelector('[data-testid="stApp"]');
  window.__benchSeen = window.__benchSeen || {};
  window.__benchSeen[key] = null;
  const shows = () => Array.from(root.querySelectorAll('strong')).some((el) => {
    if (el.textContent !== name) return false;
    const row = el.closest('[data-testid="stHorizontalBlock"]');
    return row !== null && row.textContent.includes(text);
  });
  const check = () => {
    if (window.__benchSeen[key] === null && shows()) {
      window.__benchSeen[key] = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(root, {subtree: true, childList: true, characterData: true});
  check();
}
"""


def watch_card(page, name: str, text: str) -> str:
    """Start watching for `text` in the card of `name`; returns the key for seen_at()."""
    key = f"{name}\n{text}"
    page.evaluate(WATCH_CARD, [key, name, text])
    return key


def seen_at(page, key: str, timeout_s: float) -> float:
    """Epoch seconds at which the watched text appeared (waits up to `timeout_s`)."""
    page.wait_for_function("(key) => window.__benchSeen[key] !== null", arg=key, timeout=timeout_s * 1000)
    return page.evaluate("(key) => window.__benchSeen[key]", key) / 1000


# Records each script run of the page as [requested, running, finished] (epoch ms) in
# window.__benchRuns, from the attribute data-test-script-state of the app root.
RUN_OBSERVER = r"""
(() => {
  if (window.__benchRuns) return;
  const runs = [];
  window.__benchRuns = runs;
  let state = null, requested = null, running = null;
  const now = () => performance.timeOrigin + performance.now();
  new MutationObserver((records) => {
    for (const r of records) {
      const next = r.target.getAttribute && r.target.getAttribute('data-test-script-state');
      if (!next || next === state) continue;
      const t = now();
      if (next !== 'notRunning' && requested === null) requested = t;
      if (next === 'running' && running === null) running = t;
      if (next === 'notRunning' && requested !== null) {
        runs.push([requested, running, t]);
        requested = running = null;
      }
      state = next;
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();
"""
