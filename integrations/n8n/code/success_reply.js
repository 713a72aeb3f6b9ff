// logout (disconnect) and delete → {success: true}. Evolution answers a logout of an instance
// that is already closed with 400 "… is not connected": for the dashboard that is done too.
const reply = $input.first().json;
const alreadyClosed = $prevNode.name === 'Log out' && reply.statusCode === 400
  && JSON.stringify(reply.body ?? '').includes('is not connected');
if (alreadyClosed || (reply.statusCode >= 200 && reply.statusCode < 300 && !reply.body?.error)) {
  return [{ json: { status: 200, reply: { success: true } } }];
}
return [{ json: { next: 'failed', statusCode: reply.statusCode, body: reply.body } }];
