// Every node's error output ends here, so no request is left without an answer (n8n would send
// an empty 200). One short message, never the error's details (they may quote a value).
const failure = $input.first().json.error ?? {};
const code = String(failure.code ?? '');
const message = String(failure.message ?? '');
let settings = null;
try {
  settings = { url: $env.EVOLUTION_API_URL, key: $env.EVOLUTION_API_KEY };
} catch (error) {
  return [{ json: { status: 500, error: 'O n8n bloqueia o acesso ao ambiente: defina N8N_BLOCK_ENV_ACCESS_IN_NODE=false.' } }];
}
if (!settings.url || !settings.key) {
  return [{ json: { status: 500, error: 'Defina EVOLUTION_API_URL e EVOLUTION_API_KEY no ambiente do n8n.' } }];
}
const unreachable = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH)$/;
if (unreachable.test(code) || /timed? ?out/i.test(message)) {
  return [{ json: { status: 502, error: 'Não foi possível conectar à Evolution API: verifique EVOLUTION_API_URL e se ela está no ar.' } }];
}
return [{ json: { status: 500, error: `Falha inesperada no fluxo do n8n (${$prevNode.name}).` } }];
