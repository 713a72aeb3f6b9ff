"""Supabase mode: Supabase Auth sign-in and an InstanceStore over PostgREST, one client per
browser session; and the server's store (status monitor, provider events), with the service role.

Never share a SupabaseUserClient (or its client) between browser sessions, e.g. through a module
variable or st.cache_resource: the client holds the signed-in user's tokens, so sharing it would
let one user act with another's session. Never give a SupabaseServerStore to a browser session:
it bypasses row-level security.
"""
