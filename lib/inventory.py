"""What exists at the provider, beside the dashboard: "Importar do provedor" (the instances the
provider has and the dashboard not) and "Reconfigurar eventos" (the app's event URL registered
again for every instance). A part of InstanceService (lib.instances), which builds on it: the
same store, provider, user, role checks and history."""

from __future__ import annotations

from lib import checks, event_registration, history
from lib.errors import ValidationError
from lib.models import Instance
from lib.names import creation_lock, name_key, validate_name
from lib.provider.base import EVENTS, LIST, RemoteInstance


class ProviderInventory:
    """Needs, from the service: store, provider, user, events, _origin, _token, _require_admin."""

    def importable(self) -> list[RemoteInstance]:
        """The provider's instances that are not in the dashboard ("Importar do provedor")."""
        self._require_admin(LIST)
        known = {instance.instance_id for instance in self.store.list_instances()}
        return [remote for remote in self.provider.list_instances() if remote.instance_id not in known]

    def import_instance(self, remote: RemoteInstance) -> Instance:
        """Add one of importable() with its token from the provider, named as the provider names it
        (renamed later if wanted), with the status the provider gave, and its events registered."""
        self._require_admin(LIST)
        name = validate_name(remote.name or remote.instance_id)
        key = name_key(name)
        with creation_lock(key):
            if any(name_key(i.name) == key for i in self.store.list_instances()):
                raise ValidationError(f"Já existe uma instância com o nome {name}: renomeie-a antes de importar.")
            instance = self.store.insert_instance(instance_id=remote.instance_id, token=remote.token, name=name,
                                                  created_by=self.user.id)
        history.record(self.store, history.user_event(instance, "imported", self.user, to_status=instance.status))
        instance = checks.apply_status(self.store, instance, remote.status, remote.phone_number, self._origin,
                                       reason=remote.reason) or instance
        event_registration.register_all(self.store, self.provider, [(instance, remote.token)], self.events)
        return instance

    def reconfigure_events(self) -> list[tuple[Instance, str | None]]:
        """"Reconfigurar eventos": register the app's event URL for every instance again; each
        instance with its failure's message, or None."""
        self._require_admin(EVENTS)
        pairs = [(instance, self._token(instance.id)) for instance in self.store.list_instances()]
        return event_registration.register_all(self.store, self.provider, pairs, self.events, self.user)
