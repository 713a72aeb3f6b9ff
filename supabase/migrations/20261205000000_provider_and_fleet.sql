-- =============================================================================
-- Instances: what the provider said last, the first connection, owner, tags,
-- notes, and names compared on a normalised key
-- =============================================================================
--
-- What it does (apply after 20261203000000_user_admin.sql)
--   * Adds to public.instances:
--       disconnect_reason   why the provider dropped it last: WhatsApp's code
--                           as text ('401', '428'...) or 'failed'
--       provider_event_at   the provider's own time (ms) of the last pushed
--                           event applied; an older event changes nothing
--       first_connected_at  when it first connected: set by the trigger, never
--                           changed after; backfilled from the history (its
--                           earliest 'connected' event, else the time of its
--                           last change when it is connected now)
--       owner_id            the "Responsável": a Supabase Auth user (null once
--                           that user is deleted)
--       tags                free tags (e.g. the wallet), text[]
--       notes               free text
--       name_key            what names are compared on for uniqueness: the app
--                           writes it on every insert and rename (NFKC, case
--                           folded, look-alikes of Latin letters as Latin: see
--                           lib/names.py). SQL cannot compute that, so old rows
--                           and rows inserted without it get
--                           lower(normalize(name, NFC)). Unique; when two old
--                           rows share a key the older keeps it and the others
--                           get ' #<id>' after it until renamed. The
--                           instances_lower_name_key index stays.
--   * Every role with access reads the new columns (RLS decides which rows);
--     admins write owner_id, tags, notes, name and name_key (and clear
--     disconnect_reason on a user's status change); the status monitor and
--     provider events (service_role) write all. updated_at, and so
--     instances_version(), moves with disconnect_reason, owner_id, tags and
--     notes as with the name, so every open screen follows.
--   * public.instance_owner_emails(): (user_id, email) of the users who own an
--     instance, for every role of the app (the cards say who); nothing about
--     any other user.
--   * The history's kinds grow by renamed, details_changed, restarted,
--     imported, events_registered, stale_event (a provider event older than
--     the last applied) and gone (an instance the provider no longer has).
--
-- How to apply (plain SQL, one transaction, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--   Running an earlier file again later brings back its trigger, grants or
--   kinds: run the later files again after it.
-- =============================================================================


-- --- Columns ------------------------------------------------------------------

alter table public.instances add column if not exists disconnect_reason text;
alter table public.instances add column if not exists provider_event_at bigint;
alter table public.instances add column if not exists first_connected_at timestamp with time zone;
alter table public.instances add column if not exists owner_id uuid references auth.users (id) on delete set null;
alter table public.instances add column if not exists tags text[] not null default '{}';
alter table public.instances add column if not exists notes text;
alter table public.instances add column if not exists name_key text;


-- --- Trigger ------------------------------------------------------------------

-- As in 20261201000000_status_monitor.sql, plus: updated_at also moves with
-- the reason, owner, tags and notes; first_connected_at is set the first time
-- the status is connected and kept from then on; a row written without
-- name_key gets the SQL approximation of it.
create or replace function public.instances_track_changes()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    if (new.status, new.phone_number, new.name, new.instance_id, new.token, new.last_error, new.check_failures,
        new.disconnect_reason, new.owner_id, new.tags, new.notes)
       is distinct from
       (old.status, old.phone_number, old.name, old.instance_id, old.token, old.last_error, old.check_failures,
        old.disconnect_reason, old.owner_id, old.tags, old.notes) then
      new.updated_at = now();
    end if;
    if new.status is distinct from old.status then
      new.status_changed_at = now();
    end if;
    if old.first_connected_at is not null then
      new.first_connected_at = old.first_connected_at;
    end if;
  end if;
  if new.status = 'connected' and new.first_connected_at is null then
    new.first_connected_at = now();
  end if;
  if new.phone_number is not null then
    new.last_phone_number = new.phone_number;
  end if;
  if new.name_key is null then
    new.name_key = lower(normalize(new.name, nfc));
  end if;
  return new;
end;
$$;
revoke execute on function public.instances_track_changes() from public, anon, authenticated;

drop trigger if exists instances_track_changes on public.instances;
create trigger instances_track_changes
    before insert or update on public.instances
    for each row execute function public.instances_track_changes();


-- --- Backfill -----------------------------------------------------------------

-- Touches only rows still missing a value, so a second run changes nothing.
update public.instances i
   set first_connected_at = coalesce(
         (select min(e.created_at) from public.instance_events e
           where e.instance_id = i.id and e.kind = 'connected'),
         case when i.status = 'connected' then i.status_changed_at end)
 where i.first_connected_at is null
   and (i.status = 'connected'
        or exists (select 1 from public.instance_events e where e.instance_id = i.id and e.kind = 'connected'));

update public.instances set name_key = lower(normalize(name, nfc)) where name_key is null;
update public.instances i
   set name_key = i.name_key || ' #' || i.id
  from (select id, row_number() over (partition by name_key order by created_at, id) as nth
          from public.instances) ranked
 where ranked.id = i.id and ranked.nth > 1;

alter table public.instances alter column name_key set not null;
create unique index if not exists instances_name_key_key on public.instances (name_key);


-- --- Grants -------------------------------------------------------------------

-- RLS already limits writes to admins. provider_event_at (the provider's
-- clock) and first_connected_at (the trigger's) are not theirs to write.
grant select (disconnect_reason, provider_event_at, first_connected_at, owner_id, tags, notes, name_key),
      insert (name_key),
      update (name_key, owner_id, tags, notes, disconnect_reason)
    on public.instances to authenticated;


-- --- Owners' e-mails ----------------------------------------------------------

-- SECURITY DEFINER because auth.users is no API role's to read: only the
-- users that own an instance, only to the app's roles (and the server).
create or replace function public.instance_owner_emails()
returns table (user_id uuid, email text)
language sql
stable
security definer
set search_path = ''
as $$
  select distinct u.id, u.email::text
    from public.instances i
    join auth.users u on u.id = i.owner_id
   where (select public.has_any_role(auth.uid(), array['admin', 'supervisor', 'analyst']))
      or (select auth.jwt() ->> 'role') = 'service_role'
$$;
revoke execute on function public.instance_owner_emails() from public, anon;
grant execute on function public.instance_owner_emails() to authenticated, service_role;


-- --- History kinds ------------------------------------------------------------

-- The kinds of lib/history.py (KIND_LABELS).
alter table public.instance_events drop constraint if exists instance_events_kind_check;
alter table public.instance_events add constraint instance_events_kind_check check (kind in (
    'created', 'connect_requested', 'connected', 'disconnected', 'dropped', 'status_changed', 'deleted',
    'token_revealed', 'check_failed', 'check_recovered', 'alert_sent', 'alert_failed',
    'renamed', 'details_changed', 'restarted', 'imported', 'events_registered', 'stale_event', 'gone'));
