// Evolution's create reply → {instance_id, token}: the token is the reply's `hash`.
const reply = $input.first().json;
const body = reply.body ?? {};
if (reply.statusCode === 403 && JSON.stringify(body).includes('already in use')) {
  return [{ json: { status: 409, error: 'Já existe uma instância com esse nome no provedor; tente de novo.' } }];
}
if (reply.statusCode < 200 || reply.statusCode >= 300 || body.error || typeof body.hash !== 'string' || !body.hash) {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body } }];
}
const named = body.instance?.instanceName;
const instanceId = typeof named === 'string' && named ? named : $('Pick instance name').first().json.instance_id;
return [{ json: { status: 200, reply: { instance_id: instanceId, token: body.hash } } }];
