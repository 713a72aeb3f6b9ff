// connectionState (the live state; the database row may lag) → {status, phone_number?}; the
// number is the row's ownerJid ("5511999998888@s.whatsapp.net"), for a connected instance only.
const reply = $input.first().json;
const state = reply.body?.instance?.state;
if (reply.statusCode !== 200 || reply.body?.error || typeof state !== 'string') {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
}
const status = { open: 'connected', connecting: 'connecting', close: 'disconnected', refused: 'disconnected' }[state];
if (!status) {
  return [{ json: { status: 502, error: `Status desconhecido na Evolution API: ${state.slice(0, 40)}` } }];
}
const digits = ($('Check token').first().json.owner ?? '').split('@')[0].split(':')[0];
if (status === 'connected' && /^[0-9]{10,15}$/.test(digits)) {
  return [{ json: { status: 200, reply: { status, phone_number: `+${digits}` } } }];
}
return [{ json: { status: 200, reply: { status } } }];
