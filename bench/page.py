"""What the browser benchmarks watch in a page: when a card first shows a text, and each script
run's timing, recorded by the page itself (MutationObserver) so that the moment is the DOM's."""

from __future__ import annotations

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
