"""The app under Streamlit's AppTest (app.py, in this process): an AppTest that runs app.py on every
run, the login form or a start already signed in, and an admin's AppTest on its own data dir for the
benchmarks. (What a page says, as a reader sees it, is read by tests/support/app_ui.py's helpers.)"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

from streamlit.testing.v1 import AppTest

from harness.seeding import ADMIN_EMAIL, PASSWORD, add_account, seed_instances
from harness.server import CONFIG_ENV_PREFIXES, ROOT

APP = ROOT / "app.py"


class App(AppTest):
    """AppTest that runs app.py on every run, as the real server does. Plain AppTest reruns only the
    page it finished on, which skips app.py's login gating and page-set switch (streamlit 1.67).
    An st.rerun() inside a run still has that flaw, so after signing in or out call run() again."""

    def _run(self, *args, **kwargs):
        self._finished_page_script_hash = ""
        if self._bidi_component_manager is None:
            self._bidi_component_manager = installed_components()
        return super()._run(*args, **kwargs)


@cache
def installed_components():
    """The installed Streamlit components, found once for this process, as the real server finds
    them once for all its sessions. A plain AppTest looks for them at its first run, in the metadata
    of every installed package (about 0.1 s of CPU each time)."""
    from streamlit.components.v2.component_manager import BidiComponentManager

    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    return components


def new_app(timeout: float = 30) -> AppTest:
    return App(APP, default_timeout=timeout).run()


def log_in(at: AppTest, email: str, password: str = PASSWORD) -> AppTest:
    from lib.ui.signed_in import SIGNED_IN_KEY

    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    if SIGNED_IN_KEY in at.session_state:
        at.run()  # see App
    assert not at.exception
    return at


def signed_in_app(context, email: str, timeout: float = 30, *, session_id: str | None = None) -> AppTest:
    """app.py already signed in as the local account `email` of `context` (lib.context.AppContext),
    without the login form: a server session (`session_id`, the cookie's id: a reload of that
    sign-in; default a new one), restored as a reload restores it (SignIn.restore), in the session
    state before the first run. For tests about something else than signing in; the login tests
    drive the form (log_in)."""
    from lib.ui import signed_in

    user = context.accounts.find(email).user
    at = App(APP, default_timeout=timeout)
    at.session_state[signed_in.SIGNED_IN_KEY] = context.signin.restore(
        session_id or context.sessions.create(user, user_agent="AppTest"))
    at.session_state[signed_in.USER_CHECKED_KEY] = time.monotonic()
    at.session_state[signed_in.RESTORE_TRIED_KEY] = True  # no cookie to look for
    at.run()
    assert not at.exception
    return at


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

    isolated_env(data_dir)
    context = app_context(current_settings())
    if context.accounts.count() == 0:
        add_account(context.database, ADMIN_EMAIL, "admin")
    seed_instances(context.database, instances)
    at = log_in(App(APP, default_timeout=60).run(), ADMIN_EMAIL, PASSWORD)
    return at, context
