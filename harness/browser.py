"""Headless Chromium on the app's pages: Debian's Chromium and its flags, when a page is idle, the
sign-in form (and a sign-in without it, by cookie), and where a card and its status badge are."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from harness.seeding import ADMIN_EMAIL, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# The same Chromium build without its desktop shell (Debian's chromium-headless-shell): the same
# Blink and V8, about half the CPU per page. The tests run in it; the benchmarks in CHROMIUM.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [  # what Debian's Chromium needs here, as root and without network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Several pages at once: none of them may have its timers (the 3 s ticks) throttled.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
DIALOG = '[data-testid="stDialog"]'
VIEWPORT = {"width": 1400, "height": 1000}
STEP_TIMEOUT_MS = 20_000  # a page's default: generous for a loaded machine, short enough to fail fast
PAGE_LOAD_TIMEOUT_MS = 60_000  # the first run of a new page: a new session on the server
QUIET_MS = 200  # settle(): an interaction's rerun request has been sent by then


def protocol_numbers() -> dict[str, int]:
    """Field numbers of Streamlit's WebSocket protocol (protobuf), from the installed version."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    forward, client = ForwardMsg.DESCRIPTOR.fields_by_name, ClientState.DESCRIPTOR.fields_by_name
    finished = forward["script_finished"].enum_type.values_by_name
    return {
        "RERUN_SCRIPT": BackMsg.DESCRIPTOR.fields_by_name["rerun_script"].number,
        "IS_AUTO_RERUN": client["is_auto_rerun"].number,
        "FRAGMENT_ID": client["fragment_id"].number,
        "NEW_SESSION": forward["new_session"].number,
        "SCRIPT_FINISHED": forward["script_finished"].number,
        "FINISHED_EARLY_FOR_RERUN": finished["FINISHED_EARLY_FOR_RERUN"].number,
        "FINISHED_FRAGMENT_RUN_SUCCESSFULLY": finished["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"].number,
    }


# For page scripts that read Streamlit's WebSocket (RUN_TRACKER, bench/load_recorder.py's, bench/page.py's):
# fields(bytes), the top-level fields of a protobuf message as [field number, varint value or null,
# the bytes of a length-delimited one], asBytes(data) for a message's data, and
# hookWebSocket(onSend, onMessage, onError) to see every message the page sends and receives.
PROTOBUF_JS = r"""
  // Top-level fields of a protobuf message: [[field number, varint value or null], ...]
  const fields = (bytes) => {
    const out = [];
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, b;
      do { b = bytes[i++]; value += (b & 0x7f) * scale; scale *= 128; } while (b & 0x80 && i < bytes.length);
      return value;
    };
    while (i < bytes.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) out.push([field, varint()]);
      else if (wire === 2) { const length = varint(); out.push([field, null, bytes.subarray(i, i + length)]); i += length; }
      else if (wire === 1) { i += 8; out.push([field, null]); }
      else if (wire === 5) { i += 4; out.push([field, null]); }
      else break;
    }
    return out;
  };
  const asBytes = (data) => {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return null;
  };
  // onSend(bytes) for each message the page sends, onMessage(bytes) for each it receives (bytes:
  // null when not binary); an error in either goes to onError(where, error), never in the page's way.
  const hookWebSocket = (onSend, onMessage, onError = () => {}) => {
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      try { onSend(asBytes(data)); } catch (e) { onError('send', e); }
      return send.apply(this, arguments);
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (event) => {
          try { onMessage(asBytes(event.data)); } catch (e) { onError('message', e); }
        });
      }
    };
  };
"""


def with_protocol(script: str) -> str:
    """A page script with PROTOBUF_JS (at __PROTOBUF__) and protocol_numbers() (at __PROTOCOL__)."""
    return script.replace("__PROTOBUF__", PROTOBUF_JS).replace("__PROTOCOL__", json.dumps(protocol_numbers()))


# Runs in every page of new_page, before Streamlit's scripts: counts the page's rerun requests
# (BackMsg rerun_script) not yet answered, full runs and fragment runs apart. A run's end
# (script_finished) answers them, a fragment's only the fragments' (one that ended early for a newer
# request answers none). settle() waits for none to be left: a fast run may never show in the
# page's data-test-script-state (React can draw "running" and "notRunning" as one render).
RUN_TRACKER = r"""
(() => {
  if (window.__harnessRuns || !window.WebSocket) return;
  const P = __PROTOCOL__;
  const runs = {full: 0, fragment: 0};
  window.__harnessRuns = runs;
  __PROTOBUF__

  hookWebSocket((bytes) => {
    const rerun = bytes && fields(bytes).find(([field]) => field === P.RERUN_SCRIPT);
    if (!rerun) return;
    const state = rerun[2] ? fields(rerun[2]) : [];
    if (state.some(([field, , value]) => field === P.FRAGMENT_ID && value && value.length)) runs.fragment += 1;
    else runs.full += 1;
  }, (bytes) => {
    for (const [field, status] of (bytes ? fields(bytes) : [])) {
      if (field !== P.SCRIPT_FINISHED || status === P.FINISHED_EARLY_FOR_RERUN) continue;
      runs.fragment = 0;
      if (status !== P.FINISHED_FRAGMENT_RUN_SUCCESSFULLY) runs.full = 0;
    }
  });
})();
"""


def launch_chromium(playwright, executable: Path = CHROMIUM):
    return playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)


def new_page(browser, init_script: str | None = None, **context_options):
    """A page in a context of its own (its own cookies: its own session); `context_options` go to
    browser.new_context (viewport, is_mobile...)."""
    context = browser.new_context(**{"viewport": VIEWPORT, "locale": "pt-BR", **context_options})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.add_init_script(with_protocol(RUN_TRACKER))
    if init_script:
        context.add_init_script(init_script)
    return context.new_page()


def settle(page, *, start_timeout_ms: int = 1_000, timeout_ms: int = 30_000) -> None:
    """Wait until the script runs the last interaction asked for are over. In a page of new_page:
    until the page has no rerun request left unanswered (RUN_TRACKER), and not before QUIET_MS
    (a request is sent as the interaction's event is handled, just after it). In another page:
    give a run a moment to start (it may also have started and finished already). Then the idle
    state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    if page.evaluate("() => window.__harnessRuns !== undefined"):
        page.wait_for_function(
            "([since, quiet]) => performance.now() - since >= quiet"
            " && window.__harnessRuns.full + window.__harnessRuns.fragment === 0",
            arg=[page.evaluate("performance.now()"), QUIET_MS], timeout=timeout_ms)
    else:
        try:
            page.wait_for_selector(BUSY, state="attached", timeout=start_timeout_ms)
        except PlaywrightTimeoutError:
            pass
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)


def open_app(page, url: str) -> None:
    """Go to the app and wait for its first run to end."""
    page.goto(url)
    page.wait_for_selector(IDLE, state="attached", timeout=PAGE_LOAD_TIMEOUT_MS)


def log_in(page, url: str, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> None:
    """The login form: e-mail, password, "Entrar" (what comes next is the caller's to check)."""
    open_app(page, url)
    for label, value in (("E-mail", email), ("Senha", password)):
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_label(label, exact=True).press("Tab")
    page.get_by_role("button", name="Entrar", exact=True).click()
    settle(page)


def signed_in(page) -> None:
    """The signed-in page is there, with the rest of that run (the cards' buttons) after its heading:
    the run that drew the heading has begun, so no need to wait for one to start (settle)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Configurações")).to_be_visible(timeout=30_000)
    page.wait_for_selector(IDLE, state="attached", timeout=30_000)


def sign_in(page, url: str, email: str = ADMIN_EMAIL) -> None:
    """The login form, then the signed-in page."""
    log_in(page, url, email)
    signed_in(page)


def sign_in_by_cookie(page, server, email: str = ADMIN_EMAIL) -> None:
    """Signed in as `email` without the form: a session written to the server's data dir and its
    cookie in the page's context, as a sign-in ends; then the app opened (it restores the session).
    For tests about something else than signing in (tests/ui/test_browser_sessions.py and the
    login tests drive the form)."""
    from lib.auth.accounts import LocalAccounts
    from lib.auth.sessions import COOKIE_NAME, SessionStore

    user = LocalAccounts(server.database).find(email).user
    raw_id = SessionStore(server.database, idle=timedelta(days=1), absolute=timedelta(days=1)).create(
        user, user_agent="harness")
    page.context.add_cookies([{"name": COOKIE_NAME, "value": raw_id, "url": server.url, "httpOnly": True,
                               "sameSite": "Lax"}])
    open_app(page, server.url)
    signed_in(page)


def shown(text: str) -> re.Pattern:
    """`text` as it reads on the page, where an e-mail stays inert: an invisible word joiner before
    its @ keeps Markdown from linking it (lib.presentation.escape_markdown)."""
    return re.compile(re.escape(text).replace("@", "\u2060?@"))


def card(page, name: str):
    """The card of `name`: the row of its text (name in bold first) and its buttons."""
    name_in_bold = page.locator("strong", has_text=re.compile(rf"^{re.escape(name)}$"))
    return name_in_bold.locator("xpath=ancestor::div[@data-testid='stHorizontalBlock'][1]")


def badge(page, name: str, label: str):
    """The status badge of the card of `name`, if it says `label` (an icon, then the label)."""
    return card(page, name).locator("span").filter(has=page.locator('[role="img"]')).filter(
        has_text=re.compile(rf"\s{label}$"))
