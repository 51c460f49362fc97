// Browser test: headless Chromium loads a page from another origin than the server, and that page
// runs the official `better-auth` client (bundled by esbuild from browser-page.js) against it.
//
//   AUTH_BASE_URL=http://127.0.0.1:40123 CHROMIUM=/usr/bin/chromium node browser.mjs
//
// The trusted page is served from 127.0.0.1 on another port (the server must trust
// http://127.0.0.1:*); the untrusted one from 127.0.0.2. Exit code 0 when every step passes,
// 1 on the first failure.

import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const authBase = process.env.AUTH_BASE_URL;
if (!authBase) {
  console.error("AUTH_BASE_URL is not set (e.g. AUTH_BASE_URL=http://127.0.0.1:40123)");
  process.exit(1);
}
const apiBase = `${new URL(authBase).origin}/api/auth`;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const here = fileURLToPath(new URL(".", import.meta.url));

const bundle = (
  await build({
    entryPoints: [join(here, "browser-page.js")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  })
).outputFiles[0].text;

const html = '<!doctype html><meta charset="utf-8"><title>app</title><script src="/app.js"></script>';

// A static app server on `host`, on a free port; resolves to its origin.
function serve(host) {
  const server = createServer((request, response) => {
    const [body, type] =
      request.url === "/app.js" ? [bundle, "text/javascript"] : [html, "text/html; charset=utf-8"];
    response.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    response.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve({ server, origin: `http://${host}:${server.address().port}` }));
  });
}

const servers = [];
let browser;
let failed = false;
try {
  const trusted = await serve("127.0.0.1");
  const untrusted = await serve("127.0.0.2");
  servers.push(trusted.server, untrusted.server);
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const consoleLines = [];
  page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));

  const suffix = randomBytes(6).toString("hex");
  const password = `Browser-pass-${suffix}`;
  const email = `browser.${suffix}@example.com`;
  const intruder = `intruder.${suffix}@example.com`;
  const run = async (origin, flow, who) => {
    await page.goto(`${origin}/`);
    const passed = await page.evaluate(
      ([name, base, mail, secret]) => window[name](base, mail, secret),
      [flow, apiBase, who, password],
    );
    for (const step of passed) console.log(`ok   ${origin}: ${step}`);
  };
  try {
    await run(trusted.origin, "trustedFlow", email);
    await run(untrusted.origin, "untrustedFlow", intruder);
    await run(trusted.origin, "signInRefused", intruder);
  } catch (error) {
    for (const line of consoleLines) console.log(`  console ${line}`);
    throw error;
  }
  console.log("PASS");
} catch (error) {
  failed = true;
  console.log(`FAIL: ${error && error.stack ? error.stack : error}`);
} finally {
  if (browser) await browser.close();
  for (const server of servers) server.close();
}
process.exit(failed ? 1 : 0);
