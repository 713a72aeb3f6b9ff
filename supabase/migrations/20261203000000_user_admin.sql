-- =============================================================================
-- Users and roles managed from the app (the Usuários page in Supabase mode)
-- =============================================================================
--
-- What it does (apply after 20261202000000_history.sql; it builds on the role
-- model of 20261129000000_instances.sql: user_roles and has_role)
--   * Functions an admin calls through the API. SECURITY DEFINER, because
--     they read auth.users, which no API role may read; each one first checks
--     has_role(auth.uid(), 'admin') and raises insufficient_privilege (42501)
--     for anybody else, so the check is the database's, whatever the app does:
--       admin_list_role_holders()      every user holding one of the app's
--                                      roles: id, e-mail, role (the most
--                                      privileged), when the account was
--                                      created, when it last signed in
--       admin_find_user(email)         the Supabase Auth user with this
--                                      e-mail (ignoring case), or no row
--       admin_grant_role(email, role)  gives the role to an EXISTING user
--                                      (no_data_found, P0002, when nobody has
--                                      the e-mail: create or invite them
--                                      first) and removes the other app role
--                                      they held: one role per user
--       admin_revoke_role(user_id)     removes the user's app roles
--     Neither of the last two leaves the project without an admin: taking
--     the admin role from the last user holding it raises SQLSTATE 'UA001'
--     (a code of this file's own, class UA: "user admin"). They lock
--     user_roles against other writers while they check, so two admins
--     demoting each other at the same moment cannot both succeed.
--   * role_for_email(email): the user id and role (the most privileged; null
--     when the user holds none) of the Supabase Auth user with this e-mail,
--     or no row. For the app server (single sign-on maps an e-mail to a
--     role): EXECUTE for service_role only.
--   * The app's roles are 'admin', 'supervisor' and 'analyst'. Any other
--     value app_role may have in an existing (Lovable) project, such as
--     'moderator', is neither listed nor granted nor removed here.
--   * Nothing here reads public.instances: no function returns a token or
--     any other column of instances.
--
-- The first admin still comes from the SQL editor (see README, Production:
-- Supabase); from then on admins manage roles on the Usuários page.
--
-- How to apply (plain SQL, one transaction, safe to run more than once)
--   * supabase db push            (file lives in supabase/migrations/)
--   * or paste the whole file into the Supabase Dashboard SQL editor and run.
--
-- Note: roles are compared as text and cast to app_role only when a row is
-- written, so this file holds no 'supervisor' or 'analyst' enum literal (see
-- the note on enum values in 20261129000000_instances.sql).
-- =============================================================================


-- --- Functions for admins (API, authenticated) ---------------------------------

-- Every holder of an app role, one row per user with their most privileged
-- role, ordered by e-mail. created_at and last_sign_in_at are the Supabase
-- Auth account's.
create or replace function public.admin_list_role_holders()
returns table (user_id uuid, email text, role text, created_at timestamp with time zone,
               last_sign_in_at timestamp with time zone)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not coalesce(public.has_role(auth.uid(), 'admin'), false) then
    raise exception 'only admins can manage users'
        using errcode = 'insufficient_privilege';
  end if;
  return query
    select u.id, u.email::text, held.role, u.created_at, u.last_sign_in_at
      from (select distinct on (r.user_id) r.user_id, r.role::text as role
              from public.user_roles r
             where r.role::text = any (array['admin', 'supervisor', 'analyst'])
             order by r.user_id, array_position(array['admin', 'supervisor', 'analyst'], r.role::text)) held
      join auth.users u on u.id = held.user_id
     order by lower(u.email), u.id;
end;
$$;
revoke execute on function public.admin_list_role_holders() from public, anon, service_role;
grant execute on function public.admin_list_role_holders() to authenticated;

-- The Supabase Auth user with this e-mail, ignoring case and surrounding
-- spaces; no row when there is none. A soft-deleted user does not count; if
-- an e-mail belongs to several users (single sign-on ones may share it) the
-- e-mail/password one, else the oldest.
create or replace function public.admin_find_user(_email text)
returns table (user_id uuid, email text)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not coalesce(public.has_role(auth.uid(), 'admin'), false) then
    raise exception 'only admins can manage users'
        using errcode = 'insufficient_privilege';
  end if;
  return query
    select u.id, u.email::text
      from auth.users u
     where lower(u.email) = lower(btrim(_email)) and u.deleted_at is null
     order by u.is_sso_user, u.created_at, u.id
     limit 1;
end;
$$;
revoke execute on function public.admin_find_user(text) from public, anon, service_role;
grant execute on function public.admin_find_user(text) to authenticated;

-- Gives _role to the existing user with this e-mail and takes away the other
-- app role they held. Returns the user's id. Raises insufficient_privilege
-- (42501) for non-admins, invalid_parameter_value (22023) for a role that is
-- not one of the app's, no_data_found (P0002) when no user has the e-mail,
-- and UA001 when it would take the admin role from the last admin.
create or replace function public.admin_grant_role(_email text, _role text)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  _user_id uuid;
begin
  -- Other writers of user_roles wait until this transaction ends, so the
  -- checks below still hold when it commits.
  lock table public.user_roles in share row exclusive mode;
  if not coalesce(public.has_role(auth.uid(), 'admin'), false) then
    raise exception 'only admins can manage users'
        using errcode = 'insufficient_privilege';
  end if;
  if _role is null or not (_role = any (array['admin', 'supervisor', 'analyst'])) then
    raise exception 'unknown role %', _role
        using errcode = 'invalid_parameter_value';
  end if;
  select u.id into _user_id
    from auth.users u
   where lower(u.email) = lower(btrim(_email)) and u.deleted_at is null
   order by u.is_sso_user, u.created_at, u.id
   limit 1;
  if _user_id is null then
    raise exception 'no Supabase Auth user has the e-mail %', btrim(_email)
        using errcode = 'no_data_found',
              hint = 'Create the user (Authentication > Users) or invite them first.';
  end if;
  if _role <> 'admin'
     and exists (select 1 from public.user_roles r where r.user_id = _user_id and r.role::text = 'admin')
     and not exists (select 1 from public.user_roles r where r.user_id <> _user_id and r.role::text = 'admin') then
    raise exception 'the last admin cannot lose the admin role'
        using errcode = 'UA001';
  end if;
  delete from public.user_roles r
   where r.user_id = _user_id
     and r.role::text = any (array['admin', 'supervisor', 'analyst'])
     and r.role::text <> _role;
  insert into public.user_roles (user_id, role)
  values (_user_id, _role::public.app_role)
  on conflict do nothing;
  return _user_id;
end;
$$;
revoke execute on function public.admin_grant_role(text, text) from public, anon, service_role;
grant execute on function public.admin_grant_role(text, text) to authenticated;

-- Takes every app role from the user (nothing happens when they hold none).
-- Raises insufficient_privilege (42501) for non-admins and UA001 when the
-- user is the last admin.
create or replace function public.admin_revoke_role(_user_id uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  lock table public.user_roles in share row exclusive mode;  -- as in admin_grant_role
  if not coalesce(public.has_role(auth.uid(), 'admin'), false) then
    raise exception 'only admins can manage users'
        using errcode = 'insufficient_privilege';
  end if;
  if exists (select 1 from public.user_roles r where r.user_id = _user_id and r.role::text = 'admin')
     and not exists (select 1 from public.user_roles r where r.user_id <> _user_id and r.role::text = 'admin') then
    raise exception 'the last admin cannot lose the admin role'
        using errcode = 'UA001';
  end if;
  delete from public.user_roles r
   where r.user_id = _user_id
     and r.role::text = any (array['admin', 'supervisor', 'analyst']);
end;
$$;
revoke execute on function public.admin_revoke_role(uuid) from public, anon, service_role;
grant execute on function public.admin_revoke_role(uuid) to authenticated;


-- --- Function for the app server (service_role only) --------------------------

-- The user with this e-mail (as admin_find_user finds them) and their most
-- privileged app role, null when they hold none; no row when nobody has the
-- e-mail.
create or replace function public.role_for_email(_email text)
returns table (user_id uuid, role text)
language sql
stable
security definer
set search_path = ''
as $$
  select u.id,
         (select r.role::text
            from public.user_roles r
           where r.user_id = u.id and r.role::text = any (array['admin', 'supervisor', 'analyst'])
           order by array_position(array['admin', 'supervisor', 'analyst'], r.role::text)
           limit 1)
    from auth.users u
   where lower(u.email) = lower(btrim(_email)) and u.deleted_at is null
   order by u.is_sso_user, u.created_at, u.id
   limit 1
$$;
revoke execute on function public.role_for_email(text) from public, anon, authenticated;
grant execute on function public.role_for_email(text) to service_role;
