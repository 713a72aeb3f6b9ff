"""One face for the two provider doubles (harness/doubles/: Evolution API, WAHA), so that one browser
journey drives both: what a phone does to an instance there (scan, pairing code, a drop), what the
provider holds (its instances, the webhook each one pushes to, the calls it got), and an instance
someone made there without the dashboard. Everything goes to the double's own test controls or, for
what a person would do in the provider's manager, to its HTTP API with the global key."""

from __future__ import annotations

import requests

from harness.doubles.evolution import EvolutionDouble
from harness.doubles.waha import WahaDouble

SECRET_HEADER = "X-Webhook-Secret"


class _AtADouble:
    """The provider's double on a port of its own, run by the fixture."""

    double_class: type

    def __init__(self, api_key: str):
        self.api_key = api_key
        self.double = self.double_class(api_key=api_key)

    def start(self) -> None:
        self.double.start()

    def stop(self) -> None:
        self.double.stop()

    @property
    def base_url(self) -> str:
        return self.double.base_url


class EvolutionAt(_AtADouble):
    """Evolution API v2: the instance's token is the `hash` create answers; a ban closes with 403."""

    kind = "evolution"
    drop_reason = "Número bloqueado pelo WhatsApp"
    double_class = EvolutionDouble

    def names(self) -> set[str]:
        return set(self.double.instances)

    def hooks(self, name: str) -> list[tuple[str, str]]:
        """(url, secret header) of the webhook that pushes the instance's connection changes."""
        hook = self.double.instances[name].webhook or {}
        pushes = hook.get("enabled") and "CONNECTION_UPDATE" in (hook.get("events") or [])
        return [(hook["url"], (hook.get("headers") or {}).get(SECRET_HEADER))] if pushes else []

    def secrets(self) -> set[str]:
        """The global key and every instance's token."""
        return {self.api_key, *(instance.token for instance in self.double.instances.values())}

    def scan(self, name: str, phone: str) -> None:
        self.double.simulate_scan(name, phone)

    def type_code(self, name: str, shown: str, phone: str) -> None:
        self.double.simulate_pairing(name, shown.replace("-", ""), phone)

    def drop(self, name: str) -> None:
        self.double.ban(name)

    def restarts(self, name: str) -> int:
        return self.double.request_counts["POST /instance/restart"]  # counted per route: of any instance

    def finish_starting(self, name: str) -> None:
        """A restarted instance with saved credentials opens again at once (Session.start)."""

    def wait_pushes(self) -> None:
        self.double.wait_pushes()

    def made_elsewhere(self, name: str, phone: str) -> None:
        """Created in Evolution's own manager (create with its QR), then scanned."""
        reply = requests.post(f"{self.base_url}/instance/create", headers={"apikey": self.api_key}, timeout=10,
                              json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", "qrcode": True})
        assert reply.status_code == 201, reply.text
        self.double.simulate_scan(name, phone)


class WahaAt(_AtADouble):
    """WAHA: sessions have no token; a number removed on the phone leaves the session FAILED."""

    kind = "waha"
    drop_reason = "A sessão falhou no provedor"
    double_class = WahaDouble

    def names(self) -> set[str]:
        return {session["name"] for session in self.double.list_sessions(True)}

    def hooks(self, name: str) -> list[tuple[str, str]]:
        config = self.double.snapshot(name).config or {}
        return [(hook["url"], {h["name"]: h["value"] for h in hook.get("customHeaders") or []}.get(SECRET_HEADER))
                for hook in config.get("webhooks") or [] if "session.status" in hook.get("events", [])]

    def secrets(self) -> set[str]:
        return {self.api_key}

    def scan(self, name: str, phone: str) -> None:
        self.double.simulate_scan(name, phone)

    def type_code(self, name: str, shown: str, phone: str) -> None:
        assert self.double.simulate_code(name, shown), f"{shown} is not {name}'s code"
        assert self.double.snapshot(name).me["id"] == f"{phone}@c.us"

    def drop(self, name: str) -> None:
        self.double.simulate_drop(name)

    def restarts(self, name: str) -> int:
        return self.double.count("POST", f"/api/sessions/{name}/restart")

    def finish_starting(self, name: str) -> None:
        """WAHA goes on starting a (re)started session by itself (a paired one is WORKING again in
        seconds); the double's engine moves on as the session is read."""
        for _ in range(10):
            if self.double.get_session(name)["status"] != "STARTING":
                return

    def wait_pushes(self) -> None:
        self.double.wait_pushes()

    def made_elsewhere(self, name: str, phone: str) -> None:
        """Created and started in WAHA's own dashboard, its QR read there, then scanned."""
        headers = {"X-Api-Key": self.api_key}
        reply = requests.post(f"{self.base_url}/api/sessions", headers=headers, json={"name": name, "start": True},
                              timeout=10)
        assert reply.status_code == 201, reply.text
        qr = requests.get(f"{self.base_url}/api/{name}/auth/qr", headers=headers, timeout=10)
        assert qr.status_code == 200, qr.text
        self.double.simulate_scan(name, phone)


PROVIDERS = {"evolution": EvolutionAt, "waha": WahaAt}
