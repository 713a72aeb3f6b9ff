// The instance's row (fetchInstances with the global key): unknown → 404; a token that is not
// the instance's → 401 (compared in constant time). The token goes no further.
const reply = $input.first().json;
const request = $('Read request').first().json;
if (reply.statusCode !== 200 || !Array.isArray(reply.body)) {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
}
const row = reply.body.find((candidate) => candidate?.name === request.instance_id);
if (!row) {
  return [{ json: { status: 404, error: 'Instância não encontrada no provedor.' } }];
}
const expected = typeof row.token === 'string' ? row.token : '';
let difference = expected.length ^ request.token.length;
for (let i = 0; i < request.token.length; i++) {
  difference |= (expected.charCodeAt(i) || 0) ^ request.token.charCodeAt(i);
}
if (!expected || difference !== 0) {
  return [{ json: { status: 401, error: 'Token inválido para esta instância.' } }];
}
return [{ json: { next: request.action, instance_id: request.instance_id, phone_number: request.phone_number,
                  owner: typeof row.ownerJid === 'string' ? row.ownerJid : null } }];
