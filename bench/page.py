"""What the browser benchmarks watch in a page: when a card (or any element) first shows a text,
each script run's timing, and what a full rerun costs the page, recorded by the page itself
(MutationObserver, its WebSocket) so that the moment is the DOM's."""

from __future__ import annotations

from harness.browser import with_protocol
from lib.config.settings import DEFAULT_LIVE_SECONDS

POLL_INTERVAL_S = DEFAULT_LIVE_SECONDS  # an open connect dialog asks the provider this often (the app's default)


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


# Records, in window.__rerun, what a full rerun costs the page (bench/rerun.py): when the key "r"
# (Streamlit's rerun shortcut) went down, each rerun request sent ([time, fragment?]), each forward
# message received ([time, bytes, script_finished status or null]), the last change of the DOM and
# the frame painted after it (a requestAnimationFrame, then a task: after that frame's paint). Times
# are performance.now() of the page. While window.__rerun.holdTicks is true, the timers of the
# fragments' run_every (intervals of __TICK_MS__ ms) skip their turn: no tick runs beside a measured
# rerun. Installed before Streamlit's scripts (new_page's init_script; with_protocol fills it in).
RERUN_RECORDER = r"""
(() => {
  if (window.__rerun || !window.WebSocket) return;
  const P = __PROTOCOL__;
  __PROTOBUF__
  const now = () => performance.now();
  const w = window.__rerun = {key: null, requests: [], messages: [], lastMessage: 0, lastMutation: 0, lastFrame: 0,
                              holdTicks: false};
  document.addEventListener('keydown', (event) => { if (event.key === 'r') w.key = event.timeStamp; }, true);
  const setInterval = window.setInterval;
  window.setInterval = function (callback, ms, ...rest) {
    if (ms !== __TICK_MS__ || typeof callback !== 'function') return setInterval.call(this, callback, ms, ...rest);
    return setInterval.call(this, (...args) => { if (!w.holdTicks) callback(...args); }, ms, ...rest);
  };
  hookWebSocket((bytes) => {
    const rerun = bytes && fields(bytes).find(([field]) => field === P.RERUN_SCRIPT);
    if (!rerun) return;
    const state = rerun[2] ? fields(rerun[2]) : [];
    w.requests.push([now(), state.some(([field, , value]) => field === P.FRAGMENT_ID && value && value.length)]);
  }, (bytes) => {
    const t = w.lastMessage = now();
    const finished = (bytes ? fields(bytes) : []).find(([field]) => field === P.SCRIPT_FINISHED);
    w.messages.push([t, bytes ? bytes.length : 0, finished ? finished[1] : null]);
  });
  let pending = false;
  const frame = () => {
    const drawnAt = now(), channel = new MessageChannel();
    channel.port1.onmessage = () => {
      w.lastFrame = now();
      pending = w.lastMutation > drawnAt;  // changed after that frame: one more
      if (pending) requestAnimationFrame(frame);
    };
    channel.port2.postMessage(null);
  };
  new MutationObserver(() => {
    w.lastMutation = now();
    if (!pending) { pending = true; requestAnimationFrame(frame); }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""


def rerun_recorder(tick_ms: int) -> str:
    """RERUN_RECORDER for a page whose fragments tick every `tick_ms` (to pass to new_page)."""
    return with_protocol(RERUN_RECORDER.replace("__TICK_MS__", str(int(tick_ms))))


# As WATCH_CARD, for the first element matching `selector` whose text contains `text`.
WATCH_TEXT = r"""
([key, selector, text]) => {
  window.__benchSeen = window.__benchSeen || {};
  window.__benchSeen[key] = null;
  const check = () => {
    if (window.__benchSeen[key] !== null) return;
    if (Array.from(document.querySelectorAll(selector)).some((el) => el.textContent.includes(text))) {
      window.__benchSeen[key] = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, characterData: true});
  check();
}
"""


def watch_text(page, selector: str, text: str) -> str:
    """Start watching for an element of `selector` whose text contains `text`; the key for seen_at()."""
    key = f"{selector}\n{text}"
    page.evaluate(WATCH_TEXT, [key, selector, text])
    return key
