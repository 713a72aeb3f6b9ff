// POST instancias/create {name}: the display name, and the Evolution instanceName it becomes
// (lib/provider/evolution.py instance_name: ASCII lower case, accents dropped, runs of anything
// else one dash, at most 40 characters; "Cobrança 01 – Ana" → "cobranca-01-ana").
const name = $input.first().json.body?.name;
if (typeof name !== 'string' || !name.trim()) {
  return [{ json: { status: 400, error: 'Pedido inválido: falta o nome da instância (name).' } }];
}
if (name.trim().length > 60) {
  return [{ json: { status: 400, error: 'Nome da instância longo demais (máximo 60 caracteres).' } }];
}
const base = name.normalize('NFKD').replace(/[^\x00-\x7f]/g, '').toLowerCase()
  .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
return [{ json: { next: 'list', base: base || 'instancia' } }];
