"""The n8n workflow (integrations/n8n/evolution-webhooks.json) read as n8n reads it: the five
webhooks of the contract at their production paths, Evolution reached only through n8n's
environment, every error path answered with a non-2xx status and a message, and no path left
without an answer. (`make n8n-check` runs it in a real n8n against the Evolution double.)"""

from __future__ import annotations

import json
from collections import deque

from integrations.n8n.workflow import OUTPUT, build

WORKFLOW = json.loads(OUTPUT.read_text(encoding="utf-8"))
NODES = {node["name"]: node for node in WORKFLOW["nodes"]}
ANSWERS = {200, 400, 401, 404, 409, 500, 502, 503}


def kind(name: str) -> str:
    return NODES[name]["type"].removeprefix("n8n-nodes-base.")


def named(*kinds: str) -> list[str]:
    return [name for name in NODES if kind(name) in kinds]


def outputs(name: str) -> list[list[str]]:
    """The targets of each of a node's outputs, in order."""
    return [[link["node"] for link in output] for output in WORKFLOW["connections"].get(name, {}).get("main", [])]


def reachable(start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for output in outputs(queue.popleft()):
            for target in output:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    return seen


def test_the_committed_file_is_what_the_builder_makes():
    """The Code nodes' JavaScript lives in integrations/n8n/code/: the JSON must not drift from it."""
    assert WORKFLOW == build()


def test_exactly_the_five_webhooks_of_the_contract_answer_from_a_respond_node():
    webhooks = {(NODES[name]["parameters"]["path"], NODES[name]["parameters"]["httpMethod"])
                for name in named("webhook")}
    assert webhooks == {("instancias/create", "POST"), ("instancias/connect", "POST"), ("instancias/status", "GET"),
                        ("instancias/disconnect", "POST"), ("instancias/delete", "POST")}
    assert len(named("webhook")) == 5
    assert {NODES[name]["parameters"]["responseMode"] for name in named("webhook")} == {"responseNode"}


def test_evolution_is_reached_only_through_n8ns_environment():
    calls = named("httpRequest")
    assert len(calls) == 10
    for name in calls:
        parameters = NODES[name]["parameters"]
        assert parameters["url"].startswith("={{ $env.EVOLUTION_API_URL.replace(/\\/+$/, '') }}/instance/"), name
        assert parameters["headerParameters"] == {
            "parameters": [{"name": "apikey", "value": "={{ $env.EVOLUTION_API_KEY }}"}]}, name
        assert "authentication" not in parameters and "credentials" not in NODES[name], name
    text = OUTPUT.read_text(encoding="utf-8")
    for hard_coded in ("http://", "https://", "localhost", "127.0.0.1"):
        assert hard_coded not in text
    assert text.count('"apikey"') == len(calls)


def test_every_webhook_reaches_a_200_and_every_error_status():
    for name in named("webhook"):
        answers = {NODES[target]["parameters"]["options"]["responseCode"] for target in reachable(name)
                   if kind(target) == "respondToWebhook"}
        assert answers == ANSWERS, name


def test_each_status_goes_to_the_respond_node_with_that_code_and_errors_carry_a_message():
    """"Answer" routes `next: failed` to "Evolution failure" (which answers again), each status
    to the Respond node with that literal code, anything else to the 500."""
    rules = NODES["Answer"]["parameters"]["rules"]["values"]
    routed = outputs("Answer")
    assert routed[0] == ["Evolution failure"]
    for rule, targets in zip(rules[1:], routed[1:]):
        code = rule["conditions"]["conditions"][0]["rightValue"]
        assert targets == [f"Respond {code}"]
        assert NODES[f"Respond {code}"]["parameters"]["options"]["responseCode"] == code
    assert routed[len(rules)] == ["Respond 500"]  # the fallback
    for name in named("respondToWebhook"):
        parameters = NODES[name]["parameters"]
        assert parameters["respondWith"] == "json"
        if parameters["options"]["responseCode"] == 200:
            assert parameters["responseBody"] == "={{ $json.reply }}"
        else:
            assert parameters["responseBody"].startswith("={{ { error: ")


def test_no_path_ends_without_an_answer():
    """n8n answers an empty 200 when a workflow stops before a Respond node: every node that runs
    logic sends its errors on (to "Unexpected failure", or from there and "Answer" to the 500),
    every output of every node leads on, and every node reaches an answer."""
    steps = [name for name in NODES if kind(name) not in ("webhook", "respondToWebhook", "stickyNote")]
    assert len(steps) == 32
    for name in steps:
        assert NODES[name].get("onError") == "continueErrorOutput", name
        rules = NODES[name]["parameters"].get("rules")
        expected_outputs = (len(rules["values"]) + 1 if rules else 1) + 1  # a switch's fallback; the error output
        assert len(outputs(name)) == expected_outputs and all(outputs(name)), name
        last_resort = "Respond 500" if name in ("Unexpected failure", "Answer") else "Unexpected failure"
        assert outputs(name)[-1] == [last_resort], name
        assert any(kind(target) == "respondToWebhook" for target in reachable(name)), name


def test_every_webhook_node_is_known_to_the_request_reader():
    """"Read request" tells the action by the webhook node that ran: renaming one breaks it."""
    script = NODES["Read request"]["parameters"]["jsCode"]
    for name in named("webhook"):
        if name != "POST instancias/create":
            assert f"'{name}': '{NODES[name]['parameters']['path'].split('/')[1]}'" in script


def test_executions_are_not_saved_since_they_would_hold_instance_tokens():
    settings = WORKFLOW["settings"]
    assert (settings["saveDataSuccessExecution"], settings["saveDataErrorExecution"]) == ("none", "none")
    assert settings["saveManualExecutions"] is False
