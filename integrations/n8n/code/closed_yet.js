// After the logout (its close lands after its reply): connect once the state reads close,
// reading it up to 6 times, 0.5 s apart.
const logout = $('Log out before pairing').first().json;
const loggedOut = (logout.statusCode >= 200 && logout.statusCode < 300 && !logout.body?.error)
  || (logout.statusCode === 400 && JSON.stringify(logout.body ?? '').includes('is not connected'));
if (!loggedOut) {
  return [{ json: { next: 'failed', statusCode: logout.statusCode, body: logout.body } }];
}
const reply = $input.first().json;
const state = reply.body?.instance?.state;
if (reply.statusCode !== 200 || reply.body?.error || typeof state !== 'string') {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
}
if (state === 'close') {
  return [{ json: { next: 'connect' } }];
}
if ($runIndex < 5) {
  return [{ json: { next: 'wait' } }];
}
return [{ json: { status: 503, error: 'O provedor ainda está encerrando a sessão anterior; tente de novo em instantes.' } }];
