"""What every page of a load run (bench.load) records of its own WebSocket, read back by
bench.load_session."""

# Runs in every page before Streamlit's own scripts. It reads the top-level field of each protobuf
# message on the page's WebSocket and records every script run that answered rerun requests as
# [asked_at|null, auto_at|null, started_at|null, finished_at, status, requests] (epoch ms, as the
# page's main thread sees them) in window.__loadTicks: asked_at is the oldest rerun request not yet
# answered that is not an auto rerun (BackMsg rerun_script; for a dialog tick, st_autorefresh's),
# auto_at the oldest auto rerun of a fragment (ClientState.is_auto_rerun: the cards' 3 s check),
# started_at the server's next new_session, finished_at its script_finished, requests how many
# requests that run answered (> 1: requests queued up; a dialog tick and a check of the cards may
# be answered by one run, which then counts for both). Every rerun request goes to
# window.__loadSends as [time, auto]. Exception elements and error/warning alerts seen
# after each run go to window.__loadProblems (so that an error shown for one tick only is not
# missed). (The page's data-test-script-state attribute is no good for counting: under load React
# batches running → notRunning into one render and the attribute never changes.)
TICK_SCRIPT = r"""
(() => {
  if (window.__loadTicks || !window.WebSocket) return;
  const P = __PROTOCOL__;
  const ticks = [], problems = [], seen = new Set(), sends = [];
  window.__loadTicks = ticks;
  window.__loadSends = sends;
  window.__loadProblems = problems;
  const now = () => performance.timeOrigin + performance.now();
  let pending = [], started = null;

  __PROTOBUF__

  const note = (text) => {
    text = text.replace(/\s+/g, ' ').trim().slice(0, 300);
    if (!seen.has(text)) { seen.add(text); problems.push(text); }
  };
  const scan = () => {
    try {
      for (const el of document.querySelectorAll('[data-testid="stException"]')) note('exception: ' + el.innerText);
      for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
        const text = el.innerText || '';
        const bad = el.querySelector('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]');
        if (bad || text.includes('Erro') || text.includes('\u26a0')) note('alert: ' + text);
      }
    } catch (e) { note('scan failed: ' + e); }
  };

  const onSend = (bytes) => {
    const rerun = bytes && fields(bytes).find(([field]) => field === P.RERUN_SCRIPT);
    if (!rerun) return;
    const auto = rerun[2] !== undefined && fields(rerun[2]).some(([field, value]) => field === P.IS_AUTO_RERUN && value === 1);
    const t = now();
    sends.push([t, auto ? 1 : 0]);
    pending.push([t, auto]);
  };
  const onMessage = (bytes) => {
    if (!bytes) return;
    const t = now();
    for (const [field, value] of fields(bytes)) {
      if (field === P.NEW_SESSION && started === null) started = t;
      if (field === P.SCRIPT_FINISHED) {
        if (pending.length) {
          const first = (wanted) => (pending.find(([, auto]) => auto === wanted) || [null])[0];
          ticks.push([first(false), first(true), started, t, value, pending.length]);
        }
        pending = []; started = null;
        setTimeout(scan, 300); setTimeout(scan, 1500);  // once the page has applied the run
      }
    }
  };

  hookWebSocket(onSend, onMessage, (where, e) => note(where + ' hook failed: ' + e));
})();
"""
