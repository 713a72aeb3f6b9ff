-- =============================================================================
-- Status monitor: what the provider last said about each instance
-- =============================================================================
--
-- What it does (apply after 20261129000000_instances.sql)
--   * Adds to public.instances:
--       last_checked_at    when the provider last answered for the instance
--       status_changed_at  when the status last changed (kept by a trigger)
--       last_phone_number  the last number seen, kept after a disconnect
--                          (kept by a trigger)
--       last_error         the last failed check's message
--       check_failures     failed checks in a row (capped by the app)
--       dropped            the last disconnect was the provider's word (a
--                          drop), not a user's action
--   * Replaces the generic updated_at trigger of instances with one that
--     moves updated_at only when something a user sees changes, so the
--     monitor marking rows checked does not look like an edit.
--   * Lets signed-in users read the new columns (RLS still decides which
--     rows); admins may write last_checked_at, last_error, check_failures.
--     The token stays unreadable through the API.
--   * A unique index on lower(name): one name per instance, ignoring case.
--     If duplicates already exist the index is skipped with a NOTICE saying
--     how to find them; fix them and run this file again.
--   * public.monitor_lease, public.claim_monitor_lease(holder, ttl) and
--     public.release_monitor_lease(holder): only one app server at a time
--     sweeps the statuses. Server (service_role) only.
--   * Functions called through the API:
--       instances_version()              changes when the caller's list would
--       mark_instances_checked(ids)      the provider answered, nothing changed
--       record_instance_check_failure(id, error, max_failures)
--
-- How to apply (plain SQL, one transaction, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--   Running 20261129000000_instances.sql again later brings back the generic
--   trigger and resets the column grants: run this file again after it.
-- =============================================================================


-- --- Columns ------------------------------------------------------------------

alter table public.instances add column if not exists last_checked_at timestamp with time zone;
alter table public.instances add column if not exists status_changed_at timestamp with time zone;
alter table public.instances add column if not exists last_phone_number text;
alter table public.instances add column if not exists last_error text;
alter table public.instances add column if not exists check_failures integer not null default 0;
alter table public.instances add column if not exists dropped boolean not null default false;


-- --- Trigger ------------------------------------------------------------------

-- updated_at moves when a column a user sees changes (a write that only sets
-- last_checked_at leaves it alone); status_changed_at when the status
-- changes; last_phone_number follows phone_number except to null.
create or replace function public.instances_track_changes()
returns trigger
language plpgsql
set search_path = public
as $$
begin
  if (new.status, new.phone_number, new.name, new.instance_id, new.token, new.last_error, new.check_failures)
     is distinct from
     (old.status, old.phone_number, old.name, old.instance_id, old.token, old.last_error, old.check_failures) then
    new.updated_at = now();
  end if;
  if new.status is distinct from old.status then
    new.status_changed_at = now();
  end if;
  if new.phone_number is not null then
    new.last_phone_number = new.phone_number;
  end if;
  return new;
end;
$$;
revoke execute on function public.instances_track_changes() from public, anon, authenticated;

-- public.update_updated_at() stays: other tables may use it.
drop trigger if exists update_instances_updated_at on public.instances;
drop trigger if exists instances_track_changes on public.instances;
create trigger instances_track_changes
    before update on public.instances
    for each row execute function public.instances_track_changes();

-- Backfill after the trigger swap, so the generic trigger cannot stamp every
-- row's updated_at; the new one leaves it alone for these columns. On a
-- second run nothing (or only rows inserted with a phone number) matches.
update public.instances
   set status_changed_at = coalesce(status_changed_at, updated_at, created_at, now()),
       last_phone_number = coalesce(last_phone_number, phone_number)
 where status_changed_at is null
    or (last_phone_number is null and phone_number is not null);

alter table public.instances alter column status_changed_at set default now();


-- --- Grants -------------------------------------------------------------------

-- RLS already limits updates to admins. status_changed_at and
-- last_phone_number are written by the trigger only.
grant select (last_checked_at, status_changed_at, last_phone_number, last_error, check_failures, dropped),
      update (last_checked_at, last_error, check_failures, dropped)
    on public.instances to authenticated;


-- --- One name per instance ----------------------------------------------------

do $$
begin
  create unique index if not exists instances_lower_name_key on public.instances (lower(name));
exception when unique_violation then
  raise notice 'Unique index instances_lower_name_key NOT created: some instances share a name (ignoring case). '
    'List them with: select lower(name), array_agg(id) from public.instances group by 1 having count(*) > 1; '
    'rename or delete the extras, then run this migration again.';
end
$$;


-- --- Monitor lease ------------------------------------------------------------

create table if not exists public.monitor_lease (
    name text primary key,
    holder text not null,
    expires_at timestamp with time zone not null
);
alter table public.monitor_lease enable row level security;
-- No policies and no grants: only claim_monitor_lease() touches it.
revoke all on public.monitor_lease from public, anon, authenticated, service_role;

-- Takes the lease when free or expired, renews it when `holder` holds it;
-- true when `holder` holds it afterwards.
create or replace function public.claim_monitor_lease(holder text, ttl_seconds integer)
returns boolean
language sql
volatile
security definer
set search_path = public
as $$
  with claimed as (
    insert into public.monitor_lease as lease (name, holder, expires_at)
    values ('status-monitor', claim_monitor_lease.holder, now() + make_interval(secs => claim_monitor_lease.ttl_seconds))
    on conflict (name) do update
        set holder = excluded.holder, expires_at = excluded.expires_at
        where lease.holder = excluded.holder or lease.expires_at <= now()
    returning 1
  )
  select exists (select 1 from claimed)
$$;
revoke execute on function public.claim_monitor_lease(text, integer) from public, anon, authenticated;
grant execute on function public.claim_monitor_lease(text, integer) to service_role;

-- Gives the lease up if `holder` holds it (a server stopping), so the next
-- server sweeps at once instead of waiting for the lease to expire.
create or replace function public.release_monitor_lease(holder text)
returns void
language sql
volatile
security definer
set search_path = public
as $$
  delete from public.monitor_lease
   where name = 'status-monitor' and monitor_lease.holder = release_monitor_lease.holder
$$;
revoke execute on function public.release_monitor_lease(text) from public, anon, authenticated;
grant execute on function public.release_monitor_lease(text) to service_role;


-- --- Functions for the app (SECURITY INVOKER: RLS applies) --------------------

-- Changes whenever the rows the caller can list read differently: every
-- change a user sees moves updated_at, a check moves last_checked_at. Sums
-- rather than maxima, so a change stamped with an older transaction time than
-- the newest row still shows. Costs one scan, like count(*).
create or replace function public.instances_version()
returns text
language sql
stable
security invoker
set search_path = public
as $$
  select concat_ws(':', count(*),
                   coalesce(sum(extract(epoch from updated_at)), 0),
                   coalesce(sum(extract(epoch from last_checked_at)), 0))
  from public.instances
$$;
revoke execute on function public.instances_version() from public, anon;
grant execute on function public.instances_version() to authenticated, service_role;

-- The provider answered for these rows and nothing changed. Clearing an error
-- that was not set changes nothing, so the trigger moves updated_at only for
-- rows whose error is cleared.
create or replace function public.mark_instances_checked(_ids uuid[])
returns void
language sql
volatile
security invoker
set search_path = public
as $$
  update public.instances
     set last_checked_at = now(), last_error = null, check_failures = 0
   where id = any (_ids)
$$;
revoke execute on function public.mark_instances_checked(uuid[]) from public, anon;
grant execute on function public.mark_instances_checked(uuid[]) to authenticated, service_role;

-- A check failed: keep the message and count the streak up to _max_failures;
-- past it, with the same message, the row is not written again.
create or replace function public.record_instance_check_failure(_id uuid, _error text, _max_failures integer)
returns void
language sql
volatile
security invoker
set search_path = public
as $$
  update public.instances
     set last_error = _error, check_failures = least(check_failures + 1, _max_failures)
   where id = _id
     and (check_failures < _max_failures or last_error is distinct from _error)
$$;
revoke execute on function public.record_instance_check_failure(uuid, text, integer) from public, anon;
grant execute on function public.record_instance_check_failure(uuid, text, integer) to authenticated, service_role;
