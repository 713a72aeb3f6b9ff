// The first of name, name-2 … name-10 that no Evolution instance has (Evolution answers 403 for
// a name in use).
const reply = $input.first().json;
if (reply.statusCode !== 200 || !Array.isArray(reply.body)) {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
}
const taken = new Set(reply.body.map((row) => row?.name));
const base = $('Read create request').first().json.base;
for (let attempt = 1; attempt <= 10; attempt++) {
  const suffix = attempt > 1 ? `-${attempt}` : '';
  const candidate = base.slice(0, 40 - suffix.length).replace(/-+$/, '') + suffix;
  if (!taken.has(candidate)) {
    return [{ json: { next: 'create', instance_id: candidate } }];
  }
}
return [{ json: { status: 409, error: 'Já existem instâncias com nomes parecidos no provedor; escolha outro nome.' } }];
