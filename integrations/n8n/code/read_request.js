// connect, status, disconnect and delete: {instance_id, token} (the query of status's GET, the
// JSON body of the others) and connect's optional phone_number (digits with the country code).
const ACTIONS = {
  'POST instancias/connect': 'connect',
  'GET instancias/status': 'status',
  'POST instancias/disconnect': 'disconnect',
  'POST instancias/delete': 'delete',
};
const action = ACTIONS[$prevNode.name];
const request = $input.first().json;
const fields = (action === 'status' ? request.query : request.body) ?? {};
const text = (value) => (typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '');
const instanceId = text(fields.instance_id);
const token = text(fields.token);
if (!instanceId || !token) {
  return [{ json: { status: 400, error: `Pedido inválido: falta ${instanceId ? 'token' : 'instance_id'}.` } }];
}
if (instanceId.length > 200 || token.length > 200) {
  return [{ json: { status: 400, error: 'Pedido inválido: instance_id ou token longo demais.' } }];
}
let phoneNumber = null;
if (action === 'connect' && text(fields.phone_number)) {
  phoneNumber = text(fields.phone_number).replace(/[\s()+.-]/g, '');
  if (!/^[0-9]{10,15}$/.test(phoneNumber)) {
    return [{ json: { status: 400, error: 'Número inválido: informe só dígitos, com DDI e DDD (ex.: 5511999998888).' } }];
  }
}
return [{ json: { next: 'find', action, instance_id: instanceId, token, phone_number: phoneNumber } }];
