-- Minimal Supabase shim for tests: the API roles, the auth schema and the
-- default grants a hosted Supabase project has before any user migration.
--
-- Sources (reproduced as faithfully as a plain PostgreSQL allows):
--   supabase/postgres  migrations/db/init-scripts/00000000000000-initial-schema.sql
--   supabase/postgres  migrations/db/init-scripts/00000000000001-auth-schema.sql
--   supabase/auth      migrations/20240624145325_recreate_auth_functions.up.sql
--
-- Roles are cluster-wide, so they are created only if missing: the shim can
-- be loaded into several databases of the same cluster.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon to authenticator;
grant authenticated to authenticator;
grant service_role to authenticator;

-- Default grants on schema public (objects created later by this role,
-- i.e. by the migration, get these privileges automatically).
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;

-- Auth schema: the columns of auth.users the app and the tests rely on.
create schema if not exists auth;

create table if not exists auth.users (
    instance_id uuid,
    id uuid primary key,
    aud varchar(255),
    role varchar(255),
    email varchar(255),
    encrypted_password varchar(255),
    last_sign_in_at timestamptz,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    is_sso_user boolean not null default false,
    deleted_at timestamptz
);
-- As supabase/auth: an e-mail is unique among e-mail/password users only
-- (single sign-on users may share one).
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);

-- JWT helpers, as currently defined by supabase/auth. PostgREST puts the
-- verified JWT claims in request.jwt.claims for each request.
create or replace function auth.uid()
    returns uuid
    set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$func$ language sql stable;

create or replace function auth.role()
    returns text
    set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$func$ language sql stable;

create or replace function auth.email()
    returns text
    set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$func$ language sql stable;

create or replace function auth.jwt()
    returns jsonb
    set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$func$ language sql stable;

grant usage on schema auth to anon, authenticated, service_role;
