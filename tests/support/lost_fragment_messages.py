"""`python -m tests.support.lost_fragment_messages run server.py [streamlit options]`: `streamlit run`
with one fault of Streamlit's played on every full run: what a full run draws inside a fragment
that runs every tick (lib.ui.ticks.run_live) never reaches the browser, but the run's "finished"
message does.

Streamlit 1.67 does this by itself when a tick of such a fragment is queued behind a full run whose
messages are not all sent yet: the tick's run starts by clearing the unsent messages of its
fragment (AppSession._clear_queue), and a full run's "finished successfully" is kept
(forward_msg_queue._update_script_finished_message). On a busy machine it broke
tests/ui/test_load.py about once in twenty suite runs. Here it happens on every full run, so that
a test can show the page survives it. Nothing in the product is changed.
"""

from __future__ import annotations

from harness.server import run_streamlit


def install() -> None:
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

    ticking: set[str] = set()  # the fragments that run every tick, as their auto_rerun messages name them
    full_runs: set[int] = set()  # the queues (one per browser session) whose current run is a full run
    enqueue = ForwardMsgQueue.enqueue

    def enqueue_or_lose(self, msg):
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # a run starts: the fragments it reruns, none for a full run
            (full_runs.discard if msg.metadata.run.fragment_ids else full_runs.add)(id(self))
        elif kind == "auto_rerun":
            ticking.add(msg.auto_rerun.fragment_id)
        elif kind == "delta" and msg.delta.fragment_id in ticking and id(self) in full_runs:
            return None  # lost
        return enqueue(self, msg)

    ForwardMsgQueue.enqueue = enqueue_or_lose


def main() -> None:
    install()
    run_streamlit()


if __name__ == "__main__":
    main()
