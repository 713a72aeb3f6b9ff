// connect's reply → {qr_code_base64, pairing_code?}. Evolution answers {"count": 0} while the QR
// is not ready yet (asked again up to 3 times, 1 s apart) and the state when already open. A QR
// without the pairing code asked for is passed on: the dashboard says to use the QR.
const reply = $input.first().json;
const body = reply.body ?? {};
if (reply.statusCode !== 200 || body.error) {
  return [{ json: { next: 'failed', statusCode: reply.statusCode, body } }];
}
if (body.instance?.state === 'open') {
  return [{ json: { status: 409, error: 'A instância já está conectada.' } }];
}
if (body.base64 || body.pairingCode) {
  const answer = body.base64 ? { qr_code_base64: body.base64 } : {};
  if (body.pairingCode) {
    answer.pairing_code = body.pairingCode;
  }
  return [{ json: { status: 200, reply: answer } }];
}
if ($runIndex < 2) {
  return [{ json: { next: 'retry' } }];
}
return [{ json: { status: 503, error: 'O provedor ainda não gerou o QR Code; tente de novo em instantes.' } }];
