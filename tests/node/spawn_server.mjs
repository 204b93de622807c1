// Starts a server binary that prints "listening on http://HOST:PORT" once bound (cacheon-engine,
// cacheon-testserver) and resolves with the child process and its URL.
import { spawn } from "node:child_process";

export function startServer(bin, args, { timeoutMs = 20000, name = "server" } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), timeoutMs);
    child.stdout.on("data", (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(d.toString());
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.on("exit", (code) => reject(new Error(`${name} exited ${code}`)));
  });
}
