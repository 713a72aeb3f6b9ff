"""One action on several instances at once (the table's bulk actions): each instance through the
service's own method, so the role checks, the provider calls and the history events are exactly
those of the single action; one failure is that instance's result and never stops the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from lib import fleet
from lib.errors import AlreadyDisconnected, AppError
from lib.instances import InstanceService
from lib.models import Instance

log = logging.getLogger(__name__)
MSG_UNEXPECTED = "erro inesperado (registrado no log do servidor)."


@dataclass(frozen=True)
class BulkAction:
    label: str  # the button: "Desconectar"
    running: str  # the progress bar's text: "Desconectando"
    done: str  # a result line's word: "desconectada" (plural with an s)
    destructive: bool  # confirmed with a red button
    unchanged: tuple[str, str] = ("", "")  # nothing to do, singular and plural: "já estava desconectada"


ACTIONS = {
    "check": BulkAction("Verificar", "Verificando", "verificada", destructive=False),
    "disconnect": BulkAction("Desconectar", "Desconectando", "desconectada", destructive=True,
                             unchanged=("já estava desconectada", "já estavam desconectadas")),
    "delete": BulkAction("Excluir", "Excluindo", "excluída", destructive=True),
    "restart": BulkAction("Reiniciar", "Reiniciando", "reiniciada", destructive=False),
}


@dataclass(frozen=True)
class BulkResult:
    name: str
    error: str | None = None  # the pt-BR message of its failure; None: done
    state: str | None = None  # after "Verificar": the state it is in (lib.fleet.STATE_LABELS)
    unchanged: bool = False  # nothing to do (a disconnect of one disconnected already): no failure

    def line(self, action: str) -> str:
        """"Cobrança 33: desconectada", "Cobrança 34: falhou — <message>", "Cobrança 35: já estava
        desconectada, nada foi feito."."""
        if self.error is not None:
            return f"{self.name}: falhou — {self.error}"
        if self.unchanged:
            return f"{self.name}: {ACTIONS[action].unchanged[0]}, nada foi feito."
        done = ACTIONS[action].done
        return f"{self.name}: {done} ({self.state})" if self.state else f"{self.name}: {done}"


def summary(action: str, results: list[BulkResult]) -> str:
    """"2 desconectadas · 1 já estava desconectada · 1 falhou": what was done, what needed nothing
    and what failed, each when there is some ("3 falharam", not "0 desconectadas · 3 falharam")."""
    failed = sum(r.error is not None for r in results)
    unchanged = sum(r.unchanged for r in results)
    done = len(results) - failed - unchanged
    words = ACTIONS[action]
    parts = [f"{done} {words.done}" + ("" if done == 1 else "s")] if done or not results else []
    if unchanged:
        parts.append(f"{unchanged} {words.unchanged[0] if unchanged == 1 else words.unchanged[1]}")
    if failed:
        parts.append("1 falhou" if failed == 1 else f"{failed} falharam")
    return " · ".join(parts)


def run(service: InstanceService, action: str, instances: list[Instance],
        progress: Callable[[int, int], None] = lambda done, total: None) -> list[BulkResult]:
    """`action` (a key of ACTIONS) on each instance in order, one result each; `progress(done,
    total)` after each one. "Verificar" is one refresh_all, as "Verificar agora" is."""
    if action == "check":
        return _check(service, instances, progress)
    call = {"disconnect": service.disconnect, "delete": service.delete, "restart": service.restart}[action]
    results = []
    for done, instance in enumerate(instances, start=1):
        try:
            call(instance)
            results.append(BulkResult(instance.name))
        except AlreadyDisconnected:
            results.append(BulkResult(instance.name, unchanged=True))
        except AppError as exc:
            results.append(BulkResult(instance.name, error=exc.message))
        except Exception:  # noqa: BLE001 - a bug on one instance: the others still run, and say so
            log.exception("bulk %s: unexpected error on instance %s", action, instance.id)
            results.append(BulkResult(instance.name, error=MSG_UNEXPECTED))
        progress(done, len(instances))
    return results


def _check(service: InstanceService, instances: list[Instance], progress) -> list[BulkResult]:
    try:
        checked = service.refresh_all(instances)
    except AppError as exc:  # refused as a whole (the role): the same message for each
        return [BulkResult(instance.name, error=exc.message) for instance in instances]
    progress(len(instances), len(instances))
    return [BulkResult(r.before.name, error=r.error,
                       state=None if r.error else fleet.STATE_LABELS[fleet.state(r.after or r.before)])
            for r in checked]
