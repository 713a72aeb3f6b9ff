"""The migrations on a real PostgreSQL 15: run again they change nothing, and they apply on a
project Lovable made first."""

from __future__ import annotations

import uuid

import pytest

from tests.store.test_rls import ACTIONS
from tests.store.test_rls_history import HISTORY_ACTIONS
from tests.store.test_rls_users import grant, revoke, roles_of
from tests.support.rls import (  # noqa: F401 - server is a fixture
    INSTANCE_1, INSTANCE_2, SHIM, USERS, Db, grant_role, outcome, seed_instances, seed_users, server,
)

CATALOG_QUERIES = {
    "policies": """
        select tablename, policyname, permissive, roles::text, cmd, qual, with_check
        from pg_policies where schemaname = 'public' order by 1, 2""",
    "tables": """
        select relname, relrowsecurity, relforcerowsecurity,
               array(select a::text from unnest(relacl) a order by 1)
        from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1""",
    "column_acls": """
        select attrelid::regclass::text, attname, array(select a::text from unnest(attacl) a order by 1)
        from pg_attribute
        where attrelid in (select oid from pg_class where relnamespace = 'public'::regnamespace)
          and attacl is not null order by 1, 2""",
    "columns": """
        select table_name, column_name, data_type, column_default, is_nullable
        from information_schema.columns where table_schema = 'public' order by 1, 2""",
    "functions": """
        select p.oid::regprocedure::text, pg_get_functiondef(p.oid),
               array(select a::text from unnest(p.proacl) a order by 1)
        from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1""",
    "constraints": """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2""",
    "triggers": """
        select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        from pg_trigger where not tgisinternal order by 1, 2""",
    "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2",
    "enum": "select enumlabel from pg_enum where enumtypid = 'public.app_role'::regtype order by enumsortorder",
    "user_roles": "select user_id, role::text from public.user_roles order by 1, 2",
    "instances": """
        select id, instance_id, token, name, status, updated_at, status_changed_at, last_phone_number,
               last_checked_at, last_error, check_failures, dropped, dropped_at
        from public.instances order by 1""",
    "instance_events": """
        select id, instance_id, instance_name, kind, from_status, to_status, source, actor_id, actor_email,
               detail, created_at
        from public.instance_events order by 1""",
}


def catalog(db: Db) -> dict[str, list[tuple]]:
    return {name: db.query(sql) for name, sql in CATALOG_QUERIES.items()}


def test_migrations_are_idempotent(server):
    db = Db(server, "rls_twice")
    db.script(SHIM)
    db.migrate()
    seed_users(db)
    grant_role(db, "admin")
    seed_instances(db)
    db.query("update public.instances set phone_number = '5511911112222' where id = %(id)s", {"id": INSTANCE_1})
    db.query("update public.instances set status = 'disconnected', dropped = true where id = %(id)s", {"id": INSTANCE_2})
    with db.api("admin", commit=True) as conn:
        conn.execute("insert into public.instance_events (instance_id, instance_name, kind, source)"
                     " values (%s, 'Vendas', 'token_revealed', 'user')", (INSTANCE_1,))
    before = catalog(db)
    db.migrate()
    after = catalog(db)
    assert before == after
    # The snapshot covers what the migrations are about (guards against an empty comparison).
    assert len(before["policies"]) == 7
    assert len(before["instance_events"]) == 1
    assert [row[-2] for row in before["instances"]].count(True) == 1  # a dropped row, its time kept
    assert [t[:2] for t in before["triggers"]] == [("instances", "instances_keep_dropped_at"),
                                                   ("instances", "instances_track_changes")]
    assert any(c[1] == "instances_status_check" for c in before["constraints"])
    assert any(i[1] == "instances_lower_name_key" for i in before["indexes"])
    assert {"claim_monitor_lease(text,integer)", "release_monitor_lease(text)", "instances_version()",
            "mark_instances_checked(uuid[])", "record_instance_check_failure(uuid,text,integer)",
            "instance_status_before(uuid[],timestamp with time zone)",
            "prune_instance_events(timestamp with time zone)", "admin_list_role_holders()", "admin_find_user(text)",
            "admin_grant_role(text,text)", "admin_revoke_role(uuid)",
            "role_for_email(text)"} <= {f[0] for f in before["functions"]}
    assert {"instance_events_instance_time", "instance_events_time"} <= {i[1] for i in before["indexes"]}
    assert any("instance_events" in str(f[1]) for f in before["functions"] if f[0] == "instances_version()")
    assert before["enum"] == [("admin",), ("supervisor",), ("analyst",)]


# --- Pre-existing Lovable-style project --------------------------------------

LOVABLE_SETUP = """
create type public.app_role as enum ({labels});

create table public.user_roles (
    id uuid primary key default gen_random_uuid(),
    user_id uuid references auth.users(id) on delete cascade not null,
    role app_role not null,
    created_at timestamp with time zone not null default now(),
    unique (user_id, role)
);
alter table public.user_roles enable row level security;

create or replace function public.has_role(_user_id uuid, _role app_role)
returns boolean
language sql
stable
security definer
set search_path = public
as $$
  select exists (select 1 from public.user_roles where user_id = _user_id and role = _role)
$$;

create policy "Users can view their own roles" on public.user_roles
    for select using (auth.uid() = user_id);
create policy "Admins can manage roles" on public.user_roles
    for all using (public.has_role(auth.uid(), 'admin'));

create or replace function public.update_updated_at()
returns trigger as $$
begin
  new.updated_at = now();
  return new;
end;
$$ language plpgsql set search_path = public;

create table public.profiles (
    id uuid primary key references auth.users(id) on delete cascade,
    full_name text,
    updated_at timestamp with time zone default now()
);
alter table public.profiles enable row level security;
-- Not "using (true)": the planner would fold "true or has_role(...)" and skip the call.
create policy "Named profiles are public" on public.profiles for select using (full_name is not null);
create policy "Admins manage profiles" on public.profiles for all using (public.has_role(auth.uid(), 'admin'));
create trigger update_profiles_updated_at before update on public.profiles
    for each row execute function public.update_updated_at();
"""


@pytest.mark.parametrize("labels", [("admin", "supervisor"), ("admin",), ("admin", "moderator", "user")],
                         ids=["no-analyst", "admin-only", "lovable-default"])
def test_applies_on_existing_lovable_project(server, labels):
    db = Db(server, "rls_lovable_" + "_".join(labels))
    db.script(SHIM)
    db.script(LOVABLE_SETUP.format(labels=", ".join(f"'{label}'" for label in labels)))
    seed_users(db)
    grant_role(db, "admin")
    if "supervisor" in labels:
        grant_role(db, "supervisor")
    db.query("insert into public.profiles (id, full_name) select id, email from auth.users")
    roles_before = db.query("select id, user_id, role::text, created_at from public.user_roles order by 1")
    has_role_acl = "select proacl from pg_proc where oid = 'public.has_role(uuid, public.app_role)'::regprocedure"
    acl_before = db.query(has_role_acl)

    db.migrate()  # each file one transaction: new enum values must not be used in it
    db.migrate()

    assert db.query(
        "select enumlabel from pg_enum where enumtypid = 'public.app_role'::regtype order by enumsortorder"
    ) == [(label,) for label in labels] + [(v,) for v in ("supervisor", "analyst") if v not in labels]
    assert db.query("select id, user_id, role::text, created_at from public.user_roles order by 1") == roles_before
    # The project's has_role is replaced by the hardened one (20261205000100_hardening.sql), with its grants kept.
    assert db.query(has_role_acl) == acl_before
    assert db.query("select proconfig from pg_proc where oid = 'public.has_role(uuid, public.app_role)'::regprocedure"
                    ) == [(['search_path=""'],)]

    if "supervisor" not in labels:
        grant_role(db, "supervisor")
    grant_role(db, "analyst")
    seed_instances(db)
    for persona, count in (("analyst", 2), ("supervisor", 2), ("admin", 2), ("norole", 0)):
        with db.api(persona) as conn:
            assert outcome(conn, ACTIONS["select_columns"]) == ("rows", count), persona
    with db.api("admin") as conn:
        assert outcome(conn, ACTIONS["token_fn"], {"id": INSTANCE_2}, scalar=True) == ("value", "tok-2")
    with db.api("analyst") as conn:
        assert outcome(conn, ACTIONS["token_fn"], {"id": INSTANCE_2})[:2] == ("error", "42501")
    # The history's policies hold with the enum values added by the first migration.
    with db.api("admin", commit=True) as conn:
        assert outcome(conn, HISTORY_ACTIONS["insert"], {"instance": INSTANCE_2}) == ("rows", 1)
    for persona, count in (("analyst", 1), ("supervisor", 1), ("norole", 0)):
        with db.api(persona) as conn:
            assert outcome(conn, HISTORY_ACTIONS["select"]) == ("rows", count), persona
            if count:
                assert outcome(conn, HISTORY_ACTIONS["insert"], {"instance": INSTANCE_2})[:2] == ("error", "42501")

    # Roles by e-mail from the app; values of app_role that are not the app's are left alone.
    others = {label for label in labels if label not in ("admin", "supervisor", "analyst")}
    for other in others:
        db.query("insert into public.user_roles (user_id, role) values (%(id)s, %(role)s)",
                 {"id": USERS["norole"], "role": other})
    with db.api("admin") as conn:
        assert grant(conn, "norole@test", "supervisor") == ("value", uuid.UUID(USERS["norole"]))
        assert set(roles_of(conn, "norole")) == {"supervisor"} | others
        assert conn.execute("select email, role from public.admin_list_role_holders()").fetchall() == [
            ("admin@test", "admin"), ("analyst@test", "analyst"), ("norole@test", "supervisor"),
            ("supervisor@test", "supervisor"),
        ]
        assert revoke(conn, "norole") == ("rows", 1)
        assert set(roles_of(conn, "norole")) == others
        assert revoke(conn, "admin")[:2] == ("error", "UA001")
    with db.api("service_role") as conn:
        assert conn.execute("select role from public.role_for_email('analyst@test')").fetchall() == [("analyst",)]

    # Pre-existing tables keep working, for anon too (has_role stays executable by anon).
    with db.api("anon") as conn:
        assert outcome(conn, "select id from public.profiles") == ("rows", len(USERS))
    with db.api("admin") as conn:
        assert outcome(conn, "update public.profiles set full_name = 'x'") == ("rows", len(USERS))
