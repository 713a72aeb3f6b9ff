"""`python -m tests.support.lost_fragment_messages run server.py [streamlit options]`: `streamlit run`
with a fault of Streamlit's own played on every full run after a session's first: what the run
draws inside a fragment that runs every tick (lib.ui.ticks.run_live), and that an earlier run of
the session drew already, never reaches the browser; the run's "finished" message does.

Streamlit 1.67 does this by itself when a run of such a fragment is queued behind a full run whose
messages are not all sent yet: the fragment's run starts by clearing the unsent messages of its
fragment (AppSession._clear_queue), and a full run's "finished successfully" is kept
(forward_msg_queue._update_script_finished_message). The browser then removes the fragment's old
block as stale. On a busy machine it broke tests/ui/test_load.py. Here it happens on every full
run, so that a test can show the page survives it. Nothing in the product is changed.
"""

from __future__ import annotations

from harness.server import run_streamlit


def install() -> None:
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

    # Per browser session (its queue): the fragments that run every tick, as the auto_rerun messages
    # of its earlier runs named them, and those named by the current run.
    drawn_before: dict[int, set[str]] = {}
    named_now: dict[int, set[str]] = {}
    full_runs: set[int] = set()  # the sessions whose current run is a full run
    enqueue = ForwardMsgQueue.enqueue

    def enqueue_or_lose(self, msg):
        session, kind = id(self), msg.WhichOneof("type")
        if kind == "new_session":  # a run starts: the fragments it reruns, none for a full run
            drawn_before.setdefault(session, set()).update(named_now.pop(session, set()))
            (full_runs.discard if msg.metadata.run.fragment_ids else full_runs.add)(session)
        elif kind == "auto_rerun":
            named_now.setdefault(session, set()).add(msg.auto_rerun.fragment_id)
        elif (kind == "delta" and session in full_runs
              and msg.delta.fragment_id in drawn_before.get(session, ())):
            return None  # lost
        return enqueue(self, msg)

    ForwardMsgQueue.enqueue = enqueue_or_lose


def main() -> None:
    install()
    run_streamlit()


if __name__ == "__main__":
    main()
