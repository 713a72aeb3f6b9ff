-- =============================================================================
-- History: an append-only line per change of every instance
-- =============================================================================
--
-- What it does (apply after 20261201000000_status_monitor.sql)
--   * Creates public.instance_events: what users did (created, connected,
--     disconnected, deleted, token shown, ...), what the provider said (status
--     transitions, checks failing and answering again) and the alerts sent.
--     instance_id is the instance row's id, with no foreign key: the history
--     of a deleted instance stays (with the name it had, instance_name); it is
--     null for an event of no instance (a test alert). detail is short text
--     (200 characters at most); nothing here holds or refers to a token.
--   * Row Level Security:
--       admin       -> read; insert in their own name only (actor_id is
--                      auth.uid() by default and must be; actor_email likewise
--                      is the JWT's email); created_at is always now()
--       supervisor  -> read
--       analyst     -> read
--       anyone else -> nothing (anon: no privilege at all)
--     No API role may update or delete an event; the server (service_role:
--     the status monitor, provider events, alerts) inserts in any name and
--     deletes for retention, and still may not update.
--   * Functions called through the API:
--       instance_status_before(ids, at)  per instance, its last event before
--                                        `at` that set its status (uptime)
--       prune_instance_events(before)    retention, service_role only
--   * Redefines instances_version() (from 20261201000000_status_monitor.sql)
--     so that it also changes when an event the caller can read is written.
--
-- How to apply (plain SQL, one transaction, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--   Running 20261201000000_status_monitor.sql again later brings back the
--   instances_version() that ignores the history: run this file again after it.
-- =============================================================================


-- --- Table --------------------------------------------------------------------

create table if not exists public.instance_events (
    id bigint generated always as identity primary key,
    instance_id uuid,
    instance_name text not null,
    kind text not null,
    from_status text,
    to_status text,
    phone_number text,
    source text not null,
    actor_id uuid default auth.uid(),
    actor_email text default (auth.jwt() ->> 'email'),
    detail text,
    created_at timestamp with time zone not null default now(),
    -- The kinds of lib/history.py (KIND_LABELS).
    constraint instance_events_kind_check check (kind in (
        'created', 'connect_requested', 'connected', 'disconnected', 'dropped', 'status_changed', 'deleted',
        'token_revealed', 'check_failed', 'check_recovered', 'alert_sent', 'alert_failed')),
    constraint instance_events_status_check check (
        from_status in ('disconnected', 'connecting', 'connected')
        and to_status in ('disconnected', 'connecting', 'connected')),
    constraint instance_events_source_check check (source in ('user', 'monitor', 'provider_event')),
    constraint instance_events_detail_check check (char_length(detail) <= 200)
);

-- An instance's timeline, and every instance's over a window.
create index if not exists instance_events_instance_time on public.instance_events (instance_id, created_at);
create index if not exists instance_events_time on public.instance_events (created_at);


-- --- Row Level Security and grants --------------------------------------------

alter table public.instance_events enable row level security;

-- The role checks are wrapped in (select ...) so they run once per statement,
-- not once per row: the table grows with every change of every instance.
drop policy if exists "instance_events_select" on public.instance_events;
create policy "instance_events_select" on public.instance_events
    for select to authenticated
    using ((select public.has_any_role(auth.uid(), array['admin', 'supervisor', 'analyst'])));

drop policy if exists "instance_events_admin_insert" on public.instance_events;
create policy "instance_events_admin_insert" on public.instance_events
    for insert to authenticated
    with check (
        (select public.has_role(auth.uid(), 'admin'::public.app_role))
        and actor_id = (select auth.uid())
        and actor_email is not distinct from (select auth.jwt() ->> 'email')
    );

-- Revoking all first also drops Supabase's default "grant all" to the API
-- roles. Column privileges: API users insert neither id (an identity) nor
-- created_at (so it is always the time of the insert); no update anywhere.
revoke all on public.instance_events from public, anon, authenticated, service_role;
grant select,
      insert (instance_id, instance_name, kind, from_status, to_status, phone_number, source,
              actor_id, actor_email, detail)
    on public.instance_events to authenticated;
grant select, insert, delete on public.instance_events to service_role;
-- Inserting into an identity column needs no privilege on its sequence.
revoke all on sequence public.instance_events_id_seq from public, anon, authenticated, service_role;


-- --- Functions for the app ----------------------------------------------------

-- Per instance of _ids, its last event before _at that set its status (a
-- status, or its deletion): where its timeline over a window starts. One
-- request for any number of instances, each an index lookup. SECURITY
-- INVOKER: RLS applies.
create or replace function public.instance_status_before(_ids uuid[], _at timestamp with time zone)
returns setof public.instance_events
language sql
stable
security invoker
set search_path = public
as $$
  select latest.*
  from (select distinct unnest(_ids)) as wanted (id)
  cross join lateral (
    select *
      from public.instance_events e
     where e.instance_id = wanted.id
       and e.created_at < _at
       and (e.to_status is not null or e.kind = 'deleted')
     order by e.created_at desc, e.id desc
     limit 1
  ) latest
$$;
revoke execute on function public.instance_status_before(uuid[], timestamp with time zone) from public, anon;
grant execute on function public.instance_status_before(uuid[], timestamp with time zone) to authenticated, service_role;

-- Retention: deletes the events older than _before and says how many went.
-- The server's (service_role) only; invoker rights, so it needs the DELETE
-- privilege that only service_role has.
create or replace function public.prune_instance_events(_before timestamp with time zone)
returns integer
language sql
volatile
security invoker
set search_path = public
as $$
  with gone as (
    delete from public.instance_events where created_at < _before returning 1
  )
  select count(*)::integer from gone
$$;
revoke execute on function public.prune_instance_events(timestamp with time zone) from public, anon, authenticated;
grant execute on function public.prune_instance_events(timestamp with time zone) to service_role;

-- As in 20261201000000_status_monitor.sql, plus the newest event the caller
-- can read, so an open history follows new events too. max(id) is one index
-- lookup where count(*) would be a scan; an insert that commits after a
-- newer one shows with the next change.
create or replace function public.instances_version()
returns text
language sql
stable
security invoker
set search_path = public
as $$
  select concat_ws(':', count(*),
                   coalesce(sum(extract(epoch from updated_at)), 0),
                   coalesce(sum(extract(epoch from last_checked_at)), 0),
                   (select coalesce(max(id), 0) from public.instance_events))
  from public.instances
$$;
revoke execute on function public.instances_version() from public, anon;
grant execute on function public.instances_version() to authenticated, service_role;
