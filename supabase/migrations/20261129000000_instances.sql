-- =============================================================================
-- WhatsApp instances + role-based access (Row Level Security)
-- =============================================================================
--
-- What it does
--   * Ensures the role model exists: enum public.app_role ('admin',
--     'supervisor', 'analyst'), table public.user_roles, functions
--     public.has_role(uuid, app_role) and public.update_updated_at().
--     Objects that already exist (typical Lovable/Supabase project) are kept
--     as they are; only the 'analyst' / 'supervisor' enum values are added if
--     missing.
--   * Creates public.instances with Row Level Security:
--       admin       -> read, create, edit, delete
--       supervisor  -> read
--       analyst     -> read
--       anyone else -> nothing
--   * The instance token is admin-only: no API role may SELECT the column
--     (not even admins). Admins may INSERT it when creating an instance and
--     read it through public.instance_token(id). Read instances by listing
--     columns (select=id,instance_id,name,...), never select=*, and insert
--     with "return=minimal" (or an explicit select list without token).
--
-- How to apply (plain SQL, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--
-- How to give a user a role (SQL editor, as postgres):
--   insert into public.user_roles (user_id, role)
--   select id, 'admin' from auth.users where email = 'x@y'
--   on conflict (user_id, role) do nothing;
--   -- role is one of: 'admin', 'supervisor', 'analyst'
--
-- Note on enum values: a value added with ALTER TYPE ... ADD VALUE cannot be
-- used in the transaction that added it, and this file runs as a single
-- transaction. So no policy below contains a 'supervisor' or 'analyst'
-- enum literal: those checks go through public.has_any_role(uuid, text[]),
-- which compares role::text.
-- =============================================================================


-- --- Role model ---------------------------------------------------------------

do $$
begin
  if to_regtype('public.app_role') is null then
    create type public.app_role as enum ('admin', 'supervisor', 'analyst');
  end if;
end
$$;

alter type public.app_role add value if not exists 'supervisor';
alter type public.app_role add value if not exists 'analyst';

do $$
begin
  if to_regclass('public.user_roles') is null then
    create table public.user_roles (
        id uuid primary key default gen_random_uuid(),
        user_id uuid not null references auth.users (id) on delete cascade,
        role public.app_role not null,
        unique (user_id, role)
    );
    revoke all on public.user_roles from anon, authenticated;
    grant select, insert, update, delete on public.user_roles to authenticated;
    grant all on public.user_roles to service_role;
  end if;
end
$$;

-- True when the user holds the role. SECURITY DEFINER so policies can call it
-- without being subject to the RLS of user_roles (and without recursion).
do $do$
begin
  if to_regprocedure('public.has_role(uuid, public.app_role)') is null then
    create function public.has_role(_user_id uuid, _role public.app_role)
    returns boolean
    language sql
    stable
    security definer
    set search_path = public
    as $fn$
      select exists (
        select 1 from public.user_roles where user_id = _user_id and role = _role
      )
    $fn$;
    revoke execute on function public.has_role(uuid, public.app_role) from public, anon;
  end if;
end
$do$;
grant execute on function public.has_role(uuid, public.app_role) to authenticated;

-- True when the user holds any of the roles, given as text (see the note on
-- enum values in the header).
create or replace function public.has_any_role(_user_id uuid, _roles text[])
returns boolean
language sql
stable
security definer
set search_path = public
as $$
  select exists (
    select 1 from public.user_roles where user_id = _user_id and role::text = any (_roles)
  )
$$;
revoke execute on function public.has_any_role(uuid, text[]) from public, anon;
grant execute on function public.has_any_role(uuid, text[]) to authenticated;

-- Trigger function shared by tables with an updated_at column.
do $do$
begin
  if to_regprocedure('public.update_updated_at()') is null then
    create function public.update_updated_at()
    returns trigger
    language plpgsql
    set search_path = public
    as $fn$
    begin
      new.updated_at = now();
      return new;
    end;
    $fn$;
    revoke execute on function public.update_updated_at() from public, anon, authenticated;
  end if;
end
$do$;

alter table public.user_roles enable row level security;

drop policy if exists "user_roles_select_own" on public.user_roles;
create policy "user_roles_select_own" on public.user_roles
    for select to authenticated
    using (user_id = auth.uid());

drop policy if exists "user_roles_admin_all" on public.user_roles;
create policy "user_roles_admin_all" on public.user_roles
    for all to authenticated
    using (public.has_role(auth.uid(), 'admin'::public.app_role))
    with check (public.has_role(auth.uid(), 'admin'::public.app_role));


-- --- Instances ----------------------------------------------------------------

create table if not exists public.instances (
    id uuid primary key default gen_random_uuid(),
    instance_id text not null unique,
    token text not null,
    name text not null,
    phone_number text,
    status text default 'disconnected',
    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),
    created_by uuid references auth.users (id)
);

do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.instances'::regclass and conname = 'instances_status_check'
  ) then
    alter table public.instances
        add constraint instances_status_check
        check (status in ('disconnected', 'connecting', 'connected'));
  end if;
end
$$;

drop trigger if exists update_instances_updated_at on public.instances;
create trigger update_instances_updated_at
    before update on public.instances
    for each row execute function public.update_updated_at();

alter table public.instances enable row level security;

drop policy if exists "instances_admin_all" on public.instances;
create policy "instances_admin_all" on public.instances
    for all to authenticated
    using (public.has_role(auth.uid(), 'admin'::public.app_role))
    with check (public.has_role(auth.uid(), 'admin'::public.app_role));

drop policy if exists "instances_supervisor_select" on public.instances;
create policy "instances_supervisor_select" on public.instances
    for select to authenticated
    using (public.has_any_role(auth.uid(), array['supervisor']));

drop policy if exists "instances_analyst_select" on public.instances;
create policy "instances_analyst_select" on public.instances
    for select to authenticated
    using (public.has_any_role(auth.uid(), array['analyst']));

-- Column privileges keep the token out of every API read. Revoking all first
-- also drops Supabase's default "grant all to anon, authenticated".
revoke all on public.instances from public, anon, authenticated;
grant select (id, instance_id, name, phone_number, status, created_at, updated_at, created_by),
      insert (instance_id, token, name, phone_number, status, created_by),
      update (name, phone_number, status),
      delete
    on public.instances to authenticated;
grant all on public.instances to service_role;

-- The only way for an API user to read a token: admins only.
-- Raises insufficient_privilege (42501) for non-admins and no_data_found
-- (P0002) when the instance does not exist.
create or replace function public.instance_token(_id uuid)
returns text
language plpgsql
stable
security definer
set search_path = public
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
revoke execute on function public.instance_token(uuid) from public, anon;
grant execute on function public.instance_token(uuid) to authenticated;
