"""Accounts and instances written straight into an app's SQLite file (and its provider), before or
while the app runs: faster than the UI, and the same rows the app would write."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from lib.config.provider import WebhookSettings
from lib.store.sqlite.database import SQLiteDatabase

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "s3nha-forte-123"  # of every account made here


def add_account(database: SQLiteDatabase, email: str = ADMIN_EMAIL, role: str = "admin") -> str:
    """A local account with PASSWORD; returns its e-mail."""
    from lib.auth.accounts import LocalAccounts

    LocalAccounts(database).add(email, PASSWORD, role)
    return email


def seed_instances(database: SQLiteDatabase, count: int, *, webhooks: WebhookSettings | None = None,
                   prefix: str = "Instância") -> list[str]:
    """`count` rows written in one transaction (insert_instance would commit each). Without
    `webhooks` a third of them are shown connected; with it, each is first created at that provider
    (16 at a time) and starts disconnected, so that webhooks work on it. Returns the names, oldest
    first (the cards show the newest first)."""
    from lib.provider.webhooks import WebhookClient

    names = [f"{prefix} {i:04d}" for i in range(count)]
    if webhooks:
        client = WebhookClient(webhooks)
        with ThreadPoolExecutor(max_workers=16) as pool:
            credentials = [(c.instance_id, c.token) for c in pool.map(client.create, names)]
    else:
        credentials = [(f"seed-{i:04d}-{secrets.token_hex(3)}", secrets.token_urlsafe(24)) for i in range(count)]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = []
    for i, (name, (instance_id, token)) in enumerate(zip(names, credentials)):
        connected = webhooks is None and i % 3 == 0
        created = (start + timedelta(minutes=i)).isoformat(timespec="microseconds")
        rows.append((str(uuid.uuid4()), instance_id, token, name, f"+55119{i:08d}" if connected else None,
                     "connected" if connected else "disconnected", created, created))
    with database.connect() as conn:
        conn.executemany(
            "insert into instances (id, instance_id, token, name, phone_number, status, created_at, updated_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return names


DROPPED_EVERY = 20  # seed_fleet: one instance in 20 (5 %) has dropped


def fleet_phone(index: int) -> str:
    """The number of the `index`-th instance of seed_fleet, as the store keeps it."""
    return f"+55119{index:08d}"


def seed_fleet(database: SQLiteDatabase, count: int, *, prefix: str = "Cobrança",
               credentials: list[tuple[str, str]] | None = None) -> list[str]:
    """`count` rows as a working fleet looks: each connected a week ago (its history says so), one
    in DROPPED_EVERY dropped by the provider since (reason 401, 1 to 20 hours ago, before any page
    opens: no drop banner for them); one transaction. `credentials`: the (provider id, token) of
    each, when a provider knows them (else made up). Returns the names, oldest first."""
    names = [f"{prefix} {i:04d}" for i in range(count)]
    credentials = credentials or [(f"seed-{i:04d}-{secrets.token_hex(3)}", secrets.token_urlsafe(24))
                                  for i in range(count)]
    now = datetime.now(timezone.utc)
    week_ago = (now - timedelta(days=7)).isoformat(timespec="microseconds")
    rows, events = [], []
    for i, (name, (instance_id, token)) in enumerate(zip(names, credentials)):
        row_id, phone, dropped = str(uuid.uuid4()), fleet_phone(i), i % DROPPED_EVERY == 0
        changed = (now - timedelta(hours=1 + i % 20)).isoformat(timespec="microseconds") if dropped else week_ago
        rows.append((row_id, instance_id, token, name, None if dropped else phone,
                     "disconnected" if dropped else "connected", week_ago, changed, changed, phone, int(dropped),
                     "401" if dropped else None, week_ago))
        events.append((row_id, name, "connected", "connecting", "connected", phone, None, week_ago))
        if dropped:
            events.append((row_id, name, "dropped", "connected", "disconnected", phone, "Desconectado no celular",
                           changed))
    with database.connect() as conn:
        conn.executemany(
            "insert into instances (id, instance_id, token, name, phone_number, status, created_at, updated_at,"
            " status_changed_at, last_phone_number, dropped, disconnect_reason, first_connected_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "insert into instance_events (instance_id, instance_name, kind, from_status, to_status, phone_number,"
            " source, detail, created_at) values (?, ?, ?, ?, ?, ?, 'monitor', ?, ?)", events)
    return names


def seed_connected(database: SQLiteDatabase, provider, count: int, prefix: str) -> list[str]:
    """`count` instances created at `provider` (a SandboxProvider in this process) and connected
    there, as if their phones had scanned the QR; the store still says disconnected until the
    app's monitor asks (its first sweep, at the server's start). Returns the names, oldest first."""
    from lib.provider.webhooks import WebhookClient
    from lib.store.sqlite.instances import SQLiteInstanceStore

    names = seed_instances(database, count, webhooks=provider.webhook_settings(), prefix=prefix)
    store, client = SQLiteInstanceStore(database), WebhookClient(provider.webhook_settings())
    for instance in store.list_instances():
        if instance.name in names:
            client.connect(instance.instance_id, store.instance_token(instance.id))
            if not provider.simulate_scan(instance.instance_id):
                raise RuntimeError(f"{instance.name}: the sandbox did not connect it")
    return names


def instance_ids(database: SQLiteDatabase) -> dict[str, str]:
    """Instance name -> the provider's instance id."""
    from lib.store.sqlite.instances import SQLiteInstanceStore

    return {i.name: i.instance_id for i in SQLiteInstanceStore(database).list_instances()}
