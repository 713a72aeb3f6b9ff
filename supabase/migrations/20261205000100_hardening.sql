-- =============================================================================
-- Hardening: what a hostile review of the earlier files found
-- =============================================================================
--
-- What it does (apply after 20261205000000_provider_and_fleet.sql)
--   * Roles are removed only through admin_grant_role() / admin_revoke_role(),
--     which keep the last admin: API users may no longer UPDATE, DELETE or
--     TRUNCATE public.user_roles (an admin could delete their own row and
--     leave the project with no admin). Admins may still insert a role.
--   * An API user inserts history events of what users do only (created,
--     connect_requested, disconnected, deleted, token_revealed, renamed,
--     details_changed, restarted, imported, events_registered) with source
--     'user': the monitor's and the provider's kinds (dropped, alert_sent...),
--     which feed uptime and the alerts' cooldowns, are the server's
--     (service_role) to write.
--   * Text columns get the app's limits as CHECK constraints, NOT VALID: rows
--     already there are left alone, every new or changed row is checked.
--       instances        name 60, instance_id 200, token 1000, phone_number
--                        and last_phone_number 16, last_error 300,
--                        disconnect_reason 20, notes 500, tags at most 10 of
--                        1 to 30 characters each
--       instance_events  instance_name 60, actor_email 254, phone_number 16
--                        (detail 200 and the statuses were checked already)
--   * has_role(user, role) and has_any_role(user, roles) answer about the
--     caller only (false about anyone else), except to admins and the server:
--     they no longer tell anybody who the admins are. The policies, which ask
--     about auth.uid(), work as before.
--   * Every SECURITY DEFINER function of the app runs with search_path = ''
--     and names every object with its schema, so no object another role can
--     create (in public or a temporary schema) can stand in for one of ours.
--
-- How to apply (plain SQL, one transaction, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--   Running an earlier file again later undoes part of this one (its
--   functions, policies or grants): run this file again after it.
-- =============================================================================


-- --- Roles change only through the guarded functions --------------------------

revoke update, delete, truncate on public.user_roles from public, anon, authenticated;


-- --- History: what users do, in their own name ---------------------------------

drop policy if exists "instance_events_admin_insert" on public.instance_events;
create policy "instance_events_admin_insert" on public.instance_events
    for insert to authenticated
    with check (
        (select public.has_role(auth.uid(), 'admin'::public.app_role))
        and actor_id = (select auth.uid())
        and actor_email is not distinct from (select auth.jwt() ->> 'email')
        and source = 'user'
        and kind in ('created', 'connect_requested', 'disconnected', 'deleted', 'token_revealed',
                     'renamed', 'details_changed', 'restarted', 'imported', 'events_registered')
    );


-- --- Limits -------------------------------------------------------------------

-- At most 10 tags, each of 1 to 30 characters (a CHECK cannot hold a subquery).
create or replace function public.instance_tags_valid(_tags text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(cardinality(_tags), 0) <= 10
     and not exists (select 1 from unnest(_tags) as t (tag) where t.tag is null or char_length(t.tag) not between 1 and 30)
$$;

do $$
declare
  _limit record;
begin
  for _limit in
    select * from (values
      ('instances', 'instances_name_length', 'char_length(name) <= 60'),
      ('instances', 'instances_instance_id_length', 'char_length(instance_id) <= 200'),
      ('instances', 'instances_token_length', 'char_length(token) <= 1000'),
      ('instances', 'instances_phone_number_length', 'char_length(phone_number) <= 16'),
      ('instances', 'instances_last_phone_number_length', 'char_length(last_phone_number) <= 16'),
      ('instances', 'instances_last_error_length', 'char_length(last_error) <= 300'),
      ('instances', 'instances_disconnect_reason_length', 'char_length(disconnect_reason) <= 20'),
      ('instances', 'instances_notes_length', 'char_length(notes) <= 500'),
      ('instances', 'instances_tags_valid', 'public.instance_tags_valid(tags)'),
      ('instance_events', 'instance_events_instance_name_length', 'char_length(instance_name) <= 60'),
      ('instance_events', 'instance_events_actor_email_length', 'char_length(actor_email) <= 254'),
      ('instance_events', 'instance_events_phone_number_length', 'char_length(phone_number) <= 16')
    ) as limits (table_name, constraint_name, expression)
  loop
    if not exists (select 1 from pg_constraint
                    where conname = _limit.constraint_name
                      and conrelid = format('public.%I', _limit.table_name)::regclass) then
      execute format('alter table public.%I add constraint %I check (%s) not valid',
                     _limit.table_name, _limit.constraint_name, _limit.expression);
    end if;
  end loop;
end
$$;


-- --- Role checks answer about the caller ---------------------------------------

-- True when _user_id holds the role. Asked about someone else, it answers
-- only to admins and the server, and false to anybody else.
create or replace function public.has_role(_user_id uuid, _role public.app_role)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.user_roles r where r.user_id = _user_id and r.role = _role)
     and (_user_id = (select auth.uid())
          or (select auth.jwt() ->> 'role') = 'service_role'
          or exists (select 1 from public.user_roles a where a.user_id = (select auth.uid()) and a.role::text = 'admin'))
$$;

-- The same for any of the roles, given as text (see the note on enum values
-- in 20261129000000_instances.sql).
create or replace function public.has_any_role(_user_id uuid, _roles text[])
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.user_roles r where r.user_id = _user_id and r.role::text = any (_roles))
     and (_user_id = (select auth.uid())
          or (select auth.jwt() ->> 'role') = 'service_role'
          or exists (select 1 from public.user_roles a where a.user_id = (select auth.uid()) and a.role::text = 'admin'))
$$;


-- --- Definer functions with an empty search_path -------------------------------

-- As in 20261129000000_instances.sql.
create or replace function public.instance_token(_id uuid)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  _token text;
begin
  if not coalesce(public.has_role(auth.uid(), 'admin'), false) then
    raise exception 'only admins can read instance tokens'
        using errcode = 'insufficient_privilege';
  end if;
  select i.token into _token from public.instances i where i.id = _id;
  if not found then
    raise exception 'instance % not found', _id
        using errcode = 'no_data_found';
  end if;
  return _token;
end;
$$;

-- As in 20261201000000_status_monitor.sql.
create or replace function public.claim_monitor_lease(holder text, ttl_seconds integer)
returns boolean
language sql
volatile
security definer
set search_path = ''
as $$
  with claimed as (
    insert into public.monitor_lease as lease (name, holder, expires_at)
    values ('status-monitor', claim_monitor_lease.holder,
            pg_catalog.now() + pg_catalog.make_interval(secs => claim_monitor_lease.ttl_seconds))
    on conflict (name) do update
        set holder = excluded.holder, expires_at = excluded.expires_at
        where lease.holder = excluded.holder or lease.expires_at <= pg_catalog.now()
    returning 1
  )
  select exists (select 1 from claimed)
$$;

create or replace function public.release_monitor_lease(holder text)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  delete from public.monitor_lease
   where name = 'status-monitor' and monitor_lease.holder = release_monitor_lease.holder
$$;
