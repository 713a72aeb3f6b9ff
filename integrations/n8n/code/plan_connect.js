// Before connecting: an open instance has nothing to scan; Evolution ignores `number` while a
// session is connecting, so a pairing code for a connecting instance needs a logout first.
const reply = $input.first().json;
const state = reply.body?.instance?.state;
if (reply.statusCode !== 200 || reply.body?.error || typeof state !== 'string') {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
}
if (state === 'open') {
  return [{ json: { status: 409, error: 'A instância já está conectada.' } }];
}
const pairing = Boolean($('Check token').first().json.phone_number);
return [{ json: { next: pairing && state === 'connecting' ? 'logout' : 'connect' } }];
