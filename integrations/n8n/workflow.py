"""Builds integrations/n8n/evolution-webhooks.json: one n8n workflow that answers the dashboard's
webhook contract (README "Configuration") on top of Evolution API v2, quirks included as
lib/provider/evolution.py handles them. `python -m integrations.n8n.workflow` writes the file;
the Code nodes' JavaScript lives in integrations/n8n/code/ (tests check the file is up to date).

Shape: a webhook per action → Code nodes that read each Evolution reply and say what comes next
(`next`) or what to answer (`status` with `reply` or `error`) → "Route" switches → "Answer",
which sends each status through its own "Respond" node. Every node's error output goes to
"Unexpected failure", so no request ends in the empty 200 n8n sends when a workflow fails.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "evolution-webhooks.json"
WORKFLOW_ID = "evolutionWebhook"  # fixed: importing again updates the same workflow
WEBHOOKS = {"create": "POST", "connect": "POST", "status": "GET", "disconnect": "POST", "delete": "POST"}
STATUSES = (200, 400, 401, 404, 409, 502, 503)  # what "Answer" routes; anything else answers 500
EVOLUTION = "={{ $env.EVOLUTION_API_URL.replace(/\\/+$/, '') }}"
INSTANCE = "{{ encodeURIComponent($('Check token').first().json.instance_id) }}"
NOTE = """## Evolution API webhooks for the WhatsApp dashboard
Serves the dashboard's five webhooks (POST `instancias/create`, `instancias/connect`, `instancias/disconnect`, \
`instancias/delete`; GET `instancias/status`) on top of Evolution API v2.

Needs, in n8n's environment: `EVOLUTION_API_URL`, `EVOLUTION_API_KEY` (the global key) and \
`N8N_BLOCK_ENV_ACCESS_IN_NODE=false`. Publish the workflow, then paste the five production URLs \
(`/webhook/instancias/...`) into the dashboard's `WEBHOOK_*_URL` settings.

Every error answers a non-2xx status with `{"error": "..."}`; every node's error output goes to \
*Unexpected failure*. Executions are not saved (they would hold instance tokens)."""


def build() -> dict:
    nodes, links = _nodes(), _links()
    connections: dict[str, dict] = {}
    for source, output, target in links + _error_links(nodes):
        outputs = connections.setdefault(source, {"main": []})["main"]
        while len(outputs) <= output:
            outputs.append([])
        outputs[output].append({"node": target, "type": "main", "index": 0})
    return {
        "id": WORKFLOW_ID,
        "name": "Instâncias WhatsApp · Evolution API",
        "active": False,
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1", "saveDataSuccessExecution": "none", "saveDataErrorExecution": "none",
                     "saveManualExecutions": False, "saveExecutionProgress": False},
        "pinData": {},
        "tags": [],
    }


def _nodes() -> list[dict]:
    return [
        _node("About this workflow", "stickyNote", 1, (0, -3), {"content": NOTE, "width": 620, "height": 300}),
        *(_webhook(action, (0, row)) for action, row in
          (("create", 0), ("status", 2), ("connect", 3), ("disconnect", 4), ("delete", 5))),
        # create
        _code("Read create request", (1, 0)),
        _route("Route create request", (2, 0), "list"),
        _http("List instances", (3, 0), "GET", "/instance/fetchInstances"),
        _code("Pick instance name", (4, 0)),
        _route("Route name", (5, 0), "create"),
        _http("Create instance", (6, 0), "POST", "/instance/create",
              body="={{ JSON.stringify({ instanceName: $json.instance_id, integration: 'WHATSAPP-BAILEYS', "
                   "qrcode: false }) }}"),
        _code("Create reply", (7, 0)),
        # connect, status, disconnect, delete: the token first
        _code("Read request", (1, 3.5)),
        _route("Route request", (2, 3.5), "find"),
        _http("Find instance", (3, 3.5), "GET", "/instance/fetchInstances?instanceName="
              "{{ encodeURIComponent($('Read request').first().json.instance_id) }}"),
        _code("Check token", (4, 3.5)),
        _route("Route action", (5, 3.5), "status", "connect", "disconnect", "delete"),
        _http("Get status", (6, 2), "GET", "/instance/connectionState/" + INSTANCE),
        _code("Status reply", (7, 2)),
        _http("Log out", (6, 4), "DELETE", "/instance/logout/" + INSTANCE),
        _http("Delete instance", (6, 5), "DELETE", "/instance/delete/" + INSTANCE),
        _code("Success reply", (7, 4.5)),
        # connect
        _http("Get state before connecting", (6, 7), "GET", "/instance/connectionState/" + INSTANCE),
        _code("Plan connect", (7, 7)),
        _route("Route connect", (8, 7), "logout", "connect"),
        _http("Log out before pairing", (9, 8.5), "DELETE", "/instance/logout/" + INSTANCE),
        _http("Get state after logout", (10, 8.5), "GET", "/instance/connectionState/" + INSTANCE),
        _code("Closed yet", (11, 8.5)),
        _route("Route close", (12, 8.5), "connect", "wait"),
        _wait("Wait for the close", (11, 10), 0.5),
        _http("Connect to WhatsApp", (13, 7), "GET", "/instance/connect/" + INSTANCE +
              "{{ $('Check token').first().json.phone_number ? '?number=' + "
              "$('Check token').first().json.phone_number : '' }}"),
        _code("Read QR", (14, 7)),
        _route("Route QR", (15, 7), "retry"),
        _wait("Wait for the QR", (14, 5.5), 1),
        # answers
        _answer("Answer", (16, 3)),
        _code("Evolution failure", (15, 1.5)),
        _code("Unexpected failure", (15, 11)),
        *(_respond(status, (18, row)) for row, status in enumerate(STATUSES + (500,))),
    ]


def _links() -> list[tuple[str, int, str]]:
    """(source, output, target); a route's last output and every final reply go to "Answer"."""
    finals = ("Create reply", "Status reply", "Success reply", "Evolution failure", "Unexpected failure")
    return [
        ("POST instancias/create", 0, "Read create request"),
        *((f"{method} instancias/{action}", 0, "Read request") for action, method in WEBHOOKS.items()
          if action != "create"),
        ("Read create request", 0, "Route create request"),
        ("Route create request", 0, "List instances"), ("Route create request", 1, "Answer"),
        ("List instances", 0, "Pick instance name"),
        ("Pick instance name", 0, "Route name"),
        ("Route name", 0, "Create instance"), ("Route name", 1, "Answer"),
        ("Create instance", 0, "Create reply"),
        ("Read request", 0, "Route request"),
        ("Route request", 0, "Find instance"), ("Route request", 1, "Answer"),
        ("Find instance", 0, "Check token"),
        ("Check token", 0, "Route action"),
        ("Route action", 0, "Get status"), ("Route action", 1, "Get state before connecting"),
        ("Route action", 2, "Log out"), ("Route action", 3, "Delete instance"), ("Route action", 4, "Answer"),
        ("Get status", 0, "Status reply"),
        ("Log out", 0, "Success reply"),
        ("Delete instance", 0, "Success reply"),
        ("Get state before connecting", 0, "Plan connect"),
        ("Plan connect", 0, "Route connect"),
        ("Route connect", 0, "Log out before pairing"), ("Route connect", 1, "Connect to WhatsApp"),
        ("Route connect", 2, "Answer"),
        ("Log out before pairing", 0, "Get state after logout"),
        ("Get state after logout", 0, "Closed yet"),
        ("Closed yet", 0, "Route close"),
        ("Route close", 0, "Connect to WhatsApp"), ("Route close", 1, "Wait for the close"),
        ("Route close", 2, "Answer"),
        ("Wait for the close", 0, "Get state after logout"),
        ("Connect to WhatsApp", 0, "Read QR"),
        ("Read QR", 0, "Route QR"),
        ("Route QR", 0, "Wait for the QR"), ("Route QR", 1, "Answer"),
        ("Wait for the QR", 0, "Connect to WhatsApp"),
        *((name, 0, "Answer") for name in finals),
        ("Answer", 0, "Evolution failure"),
        *(("Answer", index + 1, f"Respond {status}") for index, status in enumerate(STATUSES)),
        ("Answer", len(STATUSES) + 1, "Respond 500"),
    ]


def _error_links(nodes: list[dict]) -> list[tuple[str, int, str]]:
    """Each node's error output (its last) to "Unexpected failure"; that node's and Answer's
    to "Respond 500" (never back round)."""
    return [(node["name"], _outputs(node), "Respond 500" if node["name"] in ("Unexpected failure", "Answer")
             else "Unexpected failure") for node in nodes if node.get("onError") == "continueErrorOutput"]


def _outputs(node: dict) -> int:
    """How many outputs a node has before its error output: a switch's rules and its fallback."""
    rules = node["parameters"].get("rules")
    return len(rules["values"]) + 1 if rules else 1


def _node(name: str, kind: str, version: float, at: tuple[float, float], parameters: dict, **extra) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"evolution-webhooks/{name}")), "name": name,
            "type": f"n8n-nodes-base.{kind}", "typeVersion": version,
            "position": [int(at[0] * 260), int(at[1] * 180)], "parameters": parameters, **extra}


def _step(name: str, kind: str, version: float, at: tuple[float, float], parameters: dict) -> dict:
    """A node that runs logic: its error output is wired by _error_links."""
    return _node(name, kind, version, at, parameters, onError="continueErrorOutput")


def _webhook(action: str, at: tuple[float, float]) -> dict:
    method = WEBHOOKS[action]
    return _node(f"{method} instancias/{action}", "webhook", 2.1, at,
                 {"httpMethod": method, "path": f"instancias/{action}", "responseMode": "responseNode", "options": {}},
                 webhookId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"evolution-webhooks/webhook/{action}")))


def _code(name: str, at: tuple[float, float]) -> dict:
    script = (HERE / "code" / (name.lower().replace(" ", "_") + ".js")).read_text(encoding="utf-8")
    return _step(name, "code", 2, at, {"jsCode": script})


def _http(name: str, at: tuple[float, float], method: str, path: str, *, body: str | None = None) -> dict:
    """A call to Evolution with the global key; the reply (status and body, whatever the status)
    goes on to the next node, a failure to reach Evolution to the error output."""
    parameters = {
        "method": method, "url": EVOLUTION + path,
        "sendHeaders": True,
        "headerParameters": {"parameters": [{"name": "apikey", "value": "={{ $env.EVOLUTION_API_KEY }}"}]},
        "options": {"response": {"response": {"fullResponse": True, "neverError": True}}, "timeout": 15000},
    }
    if body:
        parameters.update(sendBody=True, specifyBody="json", jsonBody=body)
    return _step(name, "httpRequest", 4.2, at, parameters)


def _rules(values: list[tuple[str, str, str | int]]) -> dict:
    """Switch rules: output `key` when `left` equals `right`."""
    return {"values": [{
        "conditions": {
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "loose", "version": 2},
            "conditions": [{"leftValue": left, "rightValue": right,
                            "operator": {"type": "number" if isinstance(right, int) else "string",
                                         "operation": "equals"}}],
            "combinator": "and",
        },
        "renameOutput": True, "outputKey": key,
    } for left, key, right in values]}


def _route(name: str, at: tuple[float, float], *steps: str) -> dict:
    """One output per `next` step, then "answer" for everything else (a final status)."""
    rules = _rules([("={{ $json.next }}", step, step) for step in steps])
    return _step(name, "switch", 3.2, at, {"rules": rules, "looseTypeValidation": True,
                                           "options": {"fallbackOutput": "extra", "renameFallbackOutput": "answer"}})


def _answer(name: str, at: tuple[float, float]) -> dict:
    """"failed" (an Evolution reply to explain) first, then each status; anything else is a 500."""
    values = [("={{ $json.next }}", "failed", "failed")]
    values += [("={{ $json.status }}", str(status), status) for status in STATUSES]
    return _step(name, "switch", 3.2, at, {"rules": _rules(values), "looseTypeValidation": True,
                                           "options": {"fallbackOutput": "extra", "renameFallbackOutput": "500"}})


def _wait(name: str, at: tuple[float, float], seconds: float) -> dict:
    node = _step(name, "wait", 1.1, at, {"amount": seconds})
    node["webhookId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"evolution-webhooks/wait/{name}"))
    return node


def _respond(status: int, at: tuple[float, float]) -> dict:
    if status == 200:
        body = "={{ $json.reply }}"
    else:
        body = "={{ { error: typeof $json.error === 'string' ? $json.error : 'Falha inesperada no fluxo do n8n.' } }}"
    return _node(f"Respond {status}", "respondToWebhook", 1.4, at,
                 {"respondWith": "json", "responseBody": body, "options": {"responseCode": status}})


def main() -> None:
    OUTPUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
