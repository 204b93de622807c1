// Cross-check of our OpenAI wire format against the official `openai` npm client: it streams a
// chat completion with logprobs from the calibrated source (whose chunks come from
// openai/chunk_writer, the same serializer the engine uses) and must get what it expects.
// Usage: node openai_wire.mjs /path/to/cacheon-testserver
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startServer } from "./spawn_server.mjs";

const bin = process.argv[2];
if (!bin) {
  console.error("usage: node openai_wire.mjs CACHEON_TESTSERVER");
  process.exit(2);
}


const { child, url } = await startServer(bin, ["--port", "0", "--ttft-ms", "5", "--itl-ms", "1", "--tokens", "24"]);
try {
  const client = new OpenAI({ baseURL: url + "/v1", apiKey: "unused", maxRetries: 0, timeout: 10000 });

  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["Qwen2.5-72B-Instruct"]);

  const request = {
    model: "Qwen2.5-72B-Instruct",
    messages: [{ role: "user", content: "Say something, with logprobs." }],
    max_tokens: 20,
    temperature: 0,
    logprobs: true,
    top_logprobs: 5,
  };

  // Streaming: role first, one logprobs entry per token, finish_reason, usage, then the end.
  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  });
  let role = null, text = "", finish = null, usage = null;
  const tokens = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta?.role) role = choice.delta.role;
    if (choice.delta?.content) text += choice.delta.content;
    for (const lp of choice.logprobs?.content ?? []) {
      assert.equal(typeof lp.token, "string");
      assert.equal(typeof lp.logprob, "number");
      assert.ok(Array.isArray(lp.bytes));
      assert.equal(Buffer.from(lp.bytes).toString("utf8"), lp.token);
      assert.equal(lp.top_logprobs.length, 5);
      assert.equal(lp.top_logprobs[0].token, lp.token, "emitted token is its own top-1");
      tokens.push(lp.token);
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(role, "assistant");
  assert.equal(tokens.length, 20);
  assert.equal(tokens.join(""), text);
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 20);

  // Non-streaming: the same text (deterministic source), message + logprobs + usage.
  const full = await client.chat.completions.create({ ...request, stream: false });
  assert.equal(full.object, "chat.completion");
  assert.equal(full.choices[0].message.role, "assistant");
  assert.equal(full.choices[0].message.content, text);
  assert.equal(full.choices[0].logprobs.content.length, 20);
  assert.equal(full.choices[0].finish_reason, "length");
  assert.equal(full.usage.completion_tokens, 20);

  // Errors arrive as OpenAI error objects the client understands.
  await assert.rejects(
    client.chat.completions.create({ ...request, model: "no-such-model" }),
    (err) => err.status === 404 && typeof err.message === "string",
  );
  console.log("openai npm client: stream, non-stream, models and errors OK");
} finally {
  child.kill("SIGTERM");
}
