"""The alerts as the screens ask for them: the banner of the last failed alert, and "Enviar alerta
de teste". A part of InstanceService (lib.instances), which builds on it: the same store, user and
role checks."""

from __future__ import annotations

from datetime import datetime, timezone

from lib.alerts.message import compose
from lib.alerts.rules import alert_banner, record_outcome
from lib.alerts.sender import AlertSender
from lib.models import InstanceEvent


class AlertActions:
    """Needs, from the service: store, user, _require_role, _require_admin."""

    def alert_failure(self) -> InstanceEvent | None:
        """The last alert outcome when it was a failure (admins see it until the next success)."""
        self._require_role()
        return alert_banner(self.store)

    def send_test_alert(self, sender: AlertSender, public_url: str | None) -> str | None:
        """"Enviar alerta de teste": sent now, its outcome in the history; None, or why it failed."""
        self._require_admin()
        alert = compose("test", None, now=datetime.now(timezone.utc), public_url=public_url)
        reason = sender.send(alert)
        record_outcome(self.store, alert, reason, actor=self.user)
        return reason
