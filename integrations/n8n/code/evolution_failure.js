// An Evolution API reply a step could not use → one short pt-BR message (the provider's own
// explanation where it has one), never the instance token or the API key.
const { statusCode, body } = $input.first().json;
const explain = (value, depth = 0) => {
  if (typeof value === 'string') return value.trim() === '[object Object]' ? '' : value;
  if (Array.isArray(value)) return value.filter((item) => typeof item === 'string').join('; ');
  if (value && typeof value === 'object' && depth < 3) {
    for (const key of ['message', 'detail', 'response', 'error']) {
      const text = explain(value[key], depth + 1);
      if (text.trim()) return text;
    }
  }
  return '';
};
const secrets = [];
if ($('Read request').isExecuted) secrets.push($('Read request').first().json.token);
try {
  secrets.push($env.EVOLUTION_API_KEY);
} catch (error) {
  // no environment access: nothing of it to hide
}
let text = explain(body);
for (const secret of secrets.filter((value) => typeof value === 'string' && value)) {
  text = text.split(secret).join('***');
}
text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
const detail = text ? `: ${text}` : '.';
const failure = (status, error) => [{ json: { status, error } }];
if (statusCode === 401 || statusCode === 403) {
  return failure(502, 'A Evolution API recusou a chave do n8n: verifique EVOLUTION_API_KEY.');
}
if (statusCode === 404 && text.startsWith('Cannot ')) {
  return failure(502, 'Rota não encontrada na Evolution API: verifique EVOLUTION_API_URL e a versão do servidor.');
}
if (statusCode === 404) {
  return failure(404, 'Instância não encontrada no provedor.');
}
if (statusCode >= 400 && statusCode < 500) {
  return failure(400, `A Evolution API recusou o pedido${detail}`);
}
if (statusCode >= 200 && statusCode < 300) {
  return failure(502, body?.error ? `A Evolution API retornou erro${detail}` : 'Resposta inesperada da Evolution API.');
}
return failure(502, `Erro na Evolution API (HTTP ${statusCode})${detail}`);
