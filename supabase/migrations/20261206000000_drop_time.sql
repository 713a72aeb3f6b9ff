-- When a number dropped, kept through a reconnection that is given up on.
--
--   * instances.dropped now means: the provider dropped it and it has not
--     connected since (a user's "Desconectar" ends it; a user's "Conectar"
--     does not: until it connects, it is still the same drop).
--   * instances.dropped_at: when `dropped` turned on. Set by a trigger,
--     cleared when `dropped` turns off; nobody writes it (select only).
--
-- Safe to run again.

alter table public.instances add column if not exists dropped_at timestamp with time zone;

create or replace function public.instances_keep_dropped_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not new.dropped then
    new.dropped_at = null;
  elsif tg_op = 'INSERT' or not old.dropped then
    new.dropped_at = now();
  else
    new.dropped_at = old.dropped_at;
  end if;
  return new;
end;
$$;
revoke execute on function public.instances_keep_dropped_at() from public, anon, authenticated;

-- The rows down when this runs: since their last change of status (once: the
-- trigger then keeps it).
drop trigger if exists instances_keep_dropped_at on public.instances;
update public.instances set dropped_at = status_changed_at where dropped and dropped_at is null;
create trigger instances_keep_dropped_at
  before insert or update on public.instances
  for each row execute function public.instances_keep_dropped_at();

grant select (dropped_at) on public.instances to authenticated;
