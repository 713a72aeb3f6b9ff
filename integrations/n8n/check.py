"""`make n8n-check`: integrations/n8n/evolution-webhooks.json in a real n8n against the Evolution
API double (harness/doubles/evolution.py), driven by the dashboard's own WebhookClient through
both connect flows, Evolution's slow moments, the errors and the deletes. Prints PASS or FAIL per
step and stops at the first failure (exit status 1, with the end of n8n's log); n8n and the double
are always stopped.

    .venv/bin/python -m integrations.n8n.check --n8n .n8n-runtime/node_modules/.bin/n8n
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import time
from pathlib import Path
from typing import Callable

import requests

from harness.doubles.evolution import EvolutionDouble
from integrations.n8n.server import N8n
from integrations.n8n.workflow import OUTPUT, WEBHOOKS, WORKFLOW_ID
from lib.config.provider import WebhookSettings
from lib.errors import ProviderError
from lib.provider.evolution import instance_name
from lib.provider.http import MSG_INSTANCE_UNKNOWN
from lib.provider.webhooks import WebhookClient

PNG = b"\x89PNG\r\n\x1a\n"
PHONE_QR, PHONE_CODE, PHONE_SLOW = "5511988887777", "5511977776666", "5521966665555"
A, B, C = "cobranca-01-ana", "cobranca-01-ana-2", "cobranca-02"  # the Evolution names the steps expect


class StepFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


class Check:
    """The Evolution double, the n8n serving the workflow, the dashboard's client, the steps."""

    def __init__(self, executable: Path):
        self.api_key = "evo-n8n-check-" + secrets.token_hex(12)
        self.evolution = EvolutionDouble(self.api_key).start()
        self.evolution_up = True
        self.n8n = N8n(executable, self.evolution.base_url, self.api_key)
        self.webhooks = f"{self.n8n.base_url}/webhook/instancias"
        self.client = WebhookClient(WebhookSettings(**{f"{a}_url": f"{self.webhooks}/{a}" for a in WEBHOOKS}))
        self.tokens: dict[str, str] = {}  # every instance's, to look for in replies
        self.passed = 0

    def step(self, title: str, action: Callable[[], str]) -> None:
        started = time.monotonic()
        try:
            detail = action()
        except Exception as exc:  # a failed step of any kind is reported, then the run stops
            reason = exc if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
            print(f"FAIL  {title} ({time.monotonic() - started:.1f} s): {reason}", flush=True)
            raise StepFailed(title) from None
        self.passed += 1
        print(f"PASS  {title} ({time.monotonic() - started:.1f} s): {detail}", flush=True)

    def stop(self) -> None:
        self.n8n.stop()
        if self.evolution_up:
            self.evolution.stop()

    # ------------------------------------------------------------------ calls
    def raw(self, action: str, fields: dict) -> tuple[int, dict]:
        """A webhook called directly: its status and JSON body, which must never carry the API key
        or an instance token (create's own reply is read by the client, not here)."""
        method = WEBHOOKS[action]
        reply = requests.request(method, f"{self.webhooks}/{action}", timeout=30,
                                 **({"params": fields} if method == "GET" else {"json": fields}))
        secret_values = (self.api_key, fields.get("token"), *self.tokens.values())
        expect(not any(value and value in reply.text for value in secret_values),
               f"{action} answered {reply.status_code} with a secret in its body")
        expect(reply.headers.get("Content-Type", "").startswith("application/json"),
               f"{action} answered {reply.status_code} without JSON: {reply.text[:80]!r}")
        return reply.status_code, reply.json()

    def refused(self, action: str, fields: dict, status: int, message: str) -> str:
        code, body = self.raw(action, fields)
        expect((code, body) == (status, {"error": message}), f"{action}: {code} {body}, not {status} {message!r}")
        return f"{code} {body['error']}"

    def create(self, name: str, expected_id: str) -> str:
        credentials = self.client.create(name)
        expect(credentials.instance_id == expected_id, f"instance_id {credentials.instance_id!r}")
        expect(credentials.token == self.evolution.instances[expected_id].token, "not the instance's token")
        self.tokens[expected_id] = credentials.token
        return f"instance_id {expected_id}, its Evolution token"

    def status(self, instance_id: str, status: str, phone: str | None = None) -> str:
        reply = self.client.status(instance_id, self.tokens[instance_id])
        expect((reply.status, reply.phone_number) == (status, phone), f"status {reply.status} {reply.phone_number}")
        return f"{status}" + (f" {phone}" if phone else "")

    def qr(self, instance_id: str) -> str:
        reply = self.client.connect(instance_id, self.tokens[instance_id])
        expect(reply.qr is not None and reply.qr.png.startswith(PNG), "no PNG QR")
        expect(self.evolution.instances[instance_id].state == "connecting", "Evolution not connecting")
        return f"QR PNG of {len(reply.qr.png)} bytes"

    def pairing(self, instance_id: str, phone: str) -> str:
        reply = self.client.connect(instance_id, self.tokens[instance_id], phone_number=phone)
        expect(reply.pairing_code == self.evolution.instances[instance_id].qrcode.get("pairingCode"),
               f"pairing code {reply.pairing_code!r} is not Evolution's")
        self.evolution.simulate_pairing(instance_id, reply.pairing_code, phone)
        return f"pairing code {reply.pairing_code}, typed on the phone"

    def calls(self, route: str) -> int:
        return self.evolution.request_counts[route]

    # ------------------------------------------------------------------ the steps
    def run(self) -> None:
        self.step("import and publish the workflow (n8n import:workflow, publish:workflow)", self.install)
        self.step("start n8n headless: ready, the five webhooks active", self.start)
        self.qr_flow()
        self.pairing_flows()
        self.errors()
        for instance_id in list(self.tokens):
            self.step(f"delete {instance_id} → gone from Evolution", lambda i=instance_id: self.delete(i))
        self.step("status of a deleted instance → 404", lambda: self.refused(
            "status", {"instance_id": A, "token": self.tokens[A]}, 404, MSG_INSTANCE_UNKNOWN))
        self.step("Evolution down: status → 502 with a message", self.evolution_down)
        self.step("restart n8n with N8N_BLOCK_ENV_ACCESS_IN_NODE=true: 500 naming the setting", self.env_blocked)

    def install(self) -> str:
        self.n8n.install(OUTPUT, WORKFLOW_ID)
        return f"workflow {WORKFLOW_ID}"

    def start(self) -> str:
        self.n8n.start("/webhook/instancias/status")
        return f"{self.webhooks}/{{create,connect,status,disconnect,delete}}"

    def qr_flow(self) -> None:
        expect(instance_name("Cobrança 01 – Ana") == A, "lib.provider.evolution.instance_name changed")
        self.step("create 'Cobrança 01 – Ana'", lambda: self.create("Cobrança 01 – Ana", A))
        self.step("connect (QR)", lambda: self.qr(A))
        self.step("status while the QR is shown", lambda: self.status(A, "connecting"))
        self.step("scan → status connected with the number", self.scan)
        self.step("connect when already connected → 409", lambda: self.refused(
            "connect", {"instance_id": A, "token": self.tokens[A]}, 409, "A instância já está conectada."))
        self.step("disconnect → status disconnected", lambda: self.disconnect(A))
        self.step("disconnect again (Evolution answers 400 when closed) → success", lambda: self.disconnect(A))

    def pairing_flows(self) -> None:
        self.step("create 'Cobrança 01 – Ana' again → the next free name",
                  lambda: self.create("Cobrança 01 – Ana", B))
        self.step("connect with phone_number → pairing code", lambda: self.pairing(B, PHONE_CODE))
        self.step("status connected with that number", lambda: self.status(B, "connected", f"+{PHONE_CODE}"))
        self.step("create 'Cobrança 02'", lambda: self.create("Cobrança 02", C))
        self.step("connect (QR) while Evolution answers {\"count\": 0} once", self.slow_qr)
        self.step("connect with phone_number while connecting: logout, wait for the close, code",
                  self.pairing_after_qr)
        self.step("status connected with that number", lambda: self.status(C, "connected", f"+{PHONE_SLOW}"))

    def errors(self) -> None:
        wrong = "wrong-" + secrets.token_hex(8)
        for action in ("status", "connect", "disconnect", "delete"):
            self.step(f"{action} with a wrong token → 401", lambda action=action: self.refused(
                action, {"instance_id": B, "token": wrong}, 401, "Token inválido para esta instância."))
        self.step("the instance is untouched", lambda: self.status(B, "connected", f"+{PHONE_CODE}"))
        self.step("the client reads a wrong token as refused credentials", lambda: self.client_refusal(B, wrong, 401))
        self.step("status of an unknown instance → 404", lambda: self.refused(
            "status", {"instance_id": "nobody-here", "token": self.tokens[A]}, 404, MSG_INSTANCE_UNKNOWN))
        self.step("the client reads it as unknown at the provider",
                  lambda: self.client_refusal("nobody-here", self.tokens[A], 404))
        self.step("create without a name → 400", lambda: self.refused(
            "create", {}, 400, "Pedido inválido: falta o nome da instância (name)."))
        self.step("status without a token → 400", lambda: self.refused(
            "status", {"instance_id": A}, 400, "Pedido inválido: falta token."))
        self.step("connect with a malformed phone_number → 400", lambda: self.refused(
            "connect", {"instance_id": A, "token": self.tokens[A], "phone_number": "12"}, 400,
            "Número inválido: informe só dígitos, com DDI e DDD (ex.: 5511999998888)."))

    def scan(self) -> str:
        self.evolution.simulate_scan(A, PHONE_QR)
        return self.status(A, "connected", f"+{PHONE_QR}")

    def disconnect(self, instance_id: str) -> str:
        self.client.disconnect(instance_id, self.tokens[instance_id])
        expect(self.evolution.instances[instance_id].state == "close", "Evolution not closed")
        return self.status(instance_id, "disconnected")

    def slow_qr(self) -> str:
        before = self.calls("GET /instance/connect")
        self.evolution.qr_late_connects = 1
        try:
            shown = self.qr(C)
        finally:
            self.evolution.qr_late_connects = 0
        connects = self.calls("GET /instance/connect") - before
        expect(connects == 2, f"{connects} connect calls")
        return f"{shown} after {connects} connect calls"

    def pairing_after_qr(self) -> str:
        routes = ("DELETE /instance/logout", "GET /instance/connectionState")
        before = [self.calls(route) for route in routes]
        self.evolution.logout_lag_requests = 2  # the close lands 2 requests after the logout's reply
        try:
            shown = self.pairing(C, PHONE_SLOW)
        finally:
            self.evolution.logout_lag_requests = 0
        logouts, states = (self.calls(route) - count for route, count in zip(routes, before))
        expect(logouts == 1 and states >= 3, f"{logouts} logouts, {states} state reads")
        return f"{shown}; {logouts} logout, {states} state reads"

    def client_refusal(self, instance_id: str, token: str, status: int) -> str:
        try:
            self.client.status(instance_id, token)
        except ProviderError as exc:
            expect(exc.status_code == status, f"status_code {exc.status_code}")
            expect(token not in exc.message, "the token in the message")
            return exc.message
        raise StepFailed("no error")

    def delete(self, instance_id: str) -> str:
        self.client.delete(instance_id, self.tokens[instance_id])
        expect(instance_id not in self.evolution.instances, "still at Evolution")
        return "success"

    def evolution_down(self) -> str:
        self.evolution.stop()
        self.evolution_up = False
        return self.refused("status", {"instance_id": C, "token": self.tokens[C]}, 502, "Não foi possível conectar "
                            "à Evolution API: verifique EVOLUTION_API_URL e se ela está no ar.")

    def env_blocked(self) -> str:
        self.n8n.restart("/webhook/instancias/status", N8N_BLOCK_ENV_ACCESS_IN_NODE="true")
        return self.refused("status", {"instance_id": C, "token": self.tokens[C]}, 500,
                            "O n8n bloqueia o acesso ao ambiente: defina N8N_BLOCK_ENV_ACCESS_IN_NODE=false.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n8n", type=Path, required=True, help="the n8n executable")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the client's warnings about the refusals asked for
    started = time.monotonic()
    check = Check(args.n8n)
    print(f"n8n-check: Evolution double at {check.evolution.base_url}, n8n on {check.n8n.base_url}", flush=True)
    try:
        check.run()
    except StepFailed:
        print(f"n8n-check: FAILED after {check.passed} steps passed ({time.monotonic() - started:.0f} s); "
              f"end of n8n's log:\n{check.n8n.log_tail()}", flush=True)
        return 1
    finally:
        check.stop()
    print(f"n8n-check: all {check.passed} steps passed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
