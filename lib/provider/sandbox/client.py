"""The app's side of the sandbox (lib.provider.base.Provider): the webhook contract's client, plus
what the sandbox serves beyond it (restart, and the list of every instance)."""

from __future__ import annotations

from lib.errors import ProviderError
from lib.provider.base import DELETE, LIST, RESTART, TOKENS, RemoteInstance
from lib.provider.replies import missing, normalize_phone, normalize_status
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.webhooks import WebhookClient


class SandboxClient(WebhookClient):
    kind = "sandbox"
    label = "sandbox"
    capabilities = frozenset({DELETE, RESTART, LIST, TOKENS})

    def __init__(self, sandbox: SandboxProvider):
        super().__init__(sandbox.webhook_settings())
        self._list_url = f"{sandbox.base_url}/instances"

    def list_instances(self) -> list[RemoteInstance]:
        data = self._http.request("list", "GET", self._list_url)[1] or {}
        items = data.get("instances")
        if not isinstance(items, list):
            raise missing("instances", "list")
        found = []
        for item in items:
            status = normalize_status(item.get("status")) if isinstance(item, dict) else None
            if status is None or not isinstance(item.get("instance_id"), str):
                raise ProviderError("Resposta inválida do provedor (listar instâncias).", action="list", retryable=False)
            found.append(RemoteInstance(instance_id=item["instance_id"], status=status,
                                        phone_number=normalize_phone(item.get("phone_number")),
                                        token=str(item.get("token") or ""), name=item.get("name")))
        return found
