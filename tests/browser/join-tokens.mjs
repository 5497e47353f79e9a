// The dashboard's admin panels in Debian's headless Chromium (playwright-core):
// join tokens (create, the secret shown once, a registration with it from
// outside the page, uses left, expiry, revoke) and recent activity (its 404
// and its table, on replies the test serves itself, so that it needs no
// /v0/audit on the daemon). Run by tests/dashboard.rs, which starts llmlbd
// with --registration join-token and checks the API afterwards.
//
// Environment:
//   LLMLB_URL        the daemon's origin (required)
//   ADMIN_USERNAME   default "admin"
//   ADMIN_PASSWORD   (required)
//   VIEWER_TOKEN     an API key with role viewer (required)
//   EXPIRED_TOKEN    the name of a join token that has expired (required)
//   SCREENSHOT       where the screenshot goes (required); another goes beside it: -narrow
//   CHROMIUM         the browser, default /usr/bin/chromium
//
// Prints NODE_ID=<id> for the node it registered with the token from the
// page. Exits 0 when every check passed, 1 with a message naming the failed
// check.

import { Failure, check, launchBrowser, required, waitUntil } from "./common.mjs";
import { mkdirSync } from "node:fs";
import path from "node:path";

const TOTAL_TIMEOUT_MS = 150_000;
const WAIT_MS = 10_000;

const baseUrl = required("LLMLB_URL").replace(/\/+$/, "");
const origin = new URL(baseUrl).origin;
const adminUser = process.env.ADMIN_USERNAME || "admin";
const adminPassword = required("ADMIN_PASSWORD");
const viewerToken = required("VIEWER_TOKEN");
const expiredName = required("EXPIRED_TOKEN");
const screenshot = path.resolve(required("SCREENSHOT"));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function besideScreenshot(suffix) {
  const ext = path.extname(screenshot) || ".png";
  return screenshot.slice(0, screenshot.length - path.extname(screenshot).length) + suffix + ext;
}

// ---------------------------------------------------------------- watchers

let currentStep = "start";
let currentPage = null;
let allowed = [];
const problems = [];
const requests = []; // {method, pathname} of every request the pages made

function allow(status, pathname) {
  allowed.push({ status: String(status), pathname });
}

function isAllowed(text, url) {
  let pathname = "";
  try {
    pathname = new URL(url).pathname;
  } catch {
    return false;
  }
  const m = /Failed to load resource: (?:the server responded with a status of (\d+)|net::(\w+))/.exec(text);
  if (!m) return false;
  const status = m[1] || "net";
  return allowed.some((a) => a.status === status && a.pathname === pathname);
}

function watch(context) {
  context.on("request", (req) => {
    const url = req.url();
    if (!(url === origin || url.startsWith(origin + "/"))) {
      problems.push(`a request left the daemon's origin during "${currentStep}": ${url}`);
      return;
    }
    requests.push({ method: req.method(), pathname: new URL(url).pathname });
  });
  context.on("page", (page) => {
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const url = msg.location().url;
      if (isAllowed(msg.text(), url)) return;
      problems.push(`console error during "${currentStep}": ${msg.text()}${url ? " (" + url + ")" : ""}`);
    });
    page.on("pageerror", (err) => problems.push(`uncaught page error during "${currentStep}": ${err.message}`));
    page.on("dialog", (d) => {
      problems.push(`the page opened a native ${d.type()} dialog during "${currentStep}": ${d.message()}`);
      d.dismiss().catch(() => {});
    });
  });
}

async function step(name, fn) {
  currentStep = name;
  allowed = [];
  const before = problems.length;
  const started = Date.now();
  await fn();
  check(problems.length === before, problems.slice(before).join("\n"));
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

const until = (message, fn, ms = WAIT_MS) => waitUntil(message, fn, ms);

const count = (pathname, method = "GET") =>
  requests.filter((r) => r.pathname === pathname && r.method === method).length;

// Waits for two more GET /v0/nodes, that is, a poll that began after now.
async function nextPoll() {
  const n = count("/v0/nodes");
  await until("the page did not poll the daemon", async () => count("/v0/nodes") >= n + 2, 8000);
}

async function noHorizontalOverflow(page, width) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  check(sw <= width, `the page is ${sw} px wide at a ${width} px viewport: something overflows`);
}

const tokenRow = (page, name) => page.locator("#tokens-body tr").filter({ hasText: name });

async function cellText(row, column) {
  return (await row.locator(".col-" + column).innerText()).trim();
}

// ---------------------------------------------------------------- the checks

async function viewerChecks(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  watch(context);
  const page = await context.newPage();
  currentPage = page;
  page.setDefaultTimeout(WAIT_MS);

  await step("viewer: no join tokens and no activity panel, and no request for them", async () => {
    await page.goto(baseUrl + "/dashboard");
    await page.locator("#login-form").waitFor();
    await page.evaluate((token) => {
      localStorage.setItem("llmlb.session", JSON.stringify({ token, role: "viewer", username: "viewer" }));
    }, viewerToken);
    await page.reload();
    await page.locator("#nodes-view").waitFor();
    await nextPoll();
    for (const name of ["Join tokens", "Recent activity"]) {
      check((await page.getByRole("button", { name }).count()) === 0, `the viewer sees a "${name}" button`);
    }
    check(!(await page.locator("#tokens-panel").isVisible()), "the viewer sees the join tokens panel");
    check(!(await page.locator("#activity-panel").isVisible()), "the viewer sees the activity panel");
    check(count("/v0/join-tokens") === 0 && count("/v0/audit") === 0,
      "the viewer's page asked for join tokens or activity");
  });

  await context.close();
}

async function adminChecks(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  watch(context);
  const page = await context.newPage();
  currentPage = page;
  page.setDefaultTimeout(WAIT_MS);
  let secret = "";
  let nodeId = "";
  const tokenName = "rack 7 batch";

  await step("admin: the panels are closed and cost a poll nothing", async () => {
    await page.goto(baseUrl + "/dashboard");
    await page.getByLabel("Username", { exact: true }).fill(adminUser);
    await page.getByLabel("Password", { exact: true }).fill(adminPassword);
    await page.getByLabel("Password", { exact: true }).press("Enter");
    await page.locator("#nodes-view").waitFor();
    await nextPoll();
    const toggle = page.getByRole("button", { name: "Join tokens", exact: true });
    check(await toggle.isVisible(), "the admin sees no Join tokens button");
    check((await toggle.getAttribute("aria-expanded")) === "false", "the Join tokens button is not collapsed");
    check(await page.getByRole("button", { name: "Recent activity", exact: true }).isVisible(),
      "the admin sees no Recent activity button");
    check(!(await page.locator("#tokens-panel").isVisible()), "the join tokens panel is open at sign-in");
    check(count("/v0/join-tokens") === 0 && count("/v0/audit") === 0,
      "closed panels asked the daemon for something");
  });

  await step("open with the keyboard: the list shows the expired token as expired", async () => {
    const toggle = page.getByRole("button", { name: "Join tokens", exact: true });
    await toggle.focus();
    await page.keyboard.press("Enter");
    await page.locator("#tokens-panel").waitFor();
    check((await toggle.getAttribute("aria-expanded")) === "true", "the open panel's button is not expanded");
    check((await page.evaluate(() => document.activeElement.id)) === "tokens-heading",
      "opening the panel did not move the focus to it");
    const row = tokenRow(page, expiredName);
    await row.waitFor();
    check(await row.evaluate((tr) => tr.classList.contains("is-expired")), "the expired token's row is not marked");
    check((await row.locator(".badge-expired").innerText()).trim() === "Expired", "the expired token has no Expired badge");
    check(/^expired /.test(await cellText(row, "expires")), `its expiry reads "${await cellText(row, "expires")}"`);
    for (const label of ["Name", "Expires", "Uses", "Tags", "Approve machines that register with it"]) {
      check((await page.getByLabel(label, { exact: true }).count()) === 1, `the form has no input labelled "${label}"`);
    }
  });

  await step("the daemon's error sentence shows when creating fails", async () => {
    allow(400, "/v0/join-tokens");
    await page.getByLabel("Tags", { exact: true }).fill("x".repeat(300));
    await page.getByRole("button", { name: "Create join token" }).click();
    const err = page.locator("#token-form-error");
    await err.waitFor();
    const text = (await err.innerText()).trim();
    check(/^Could not create the join token: tags\[0\] .*256/.test(text), `the form error reads "${text}"`);
    check(!(await page.locator("#token-secret").isVisible()), "a secret is shown after a failure");
    await page.waitForTimeout(300); // the console message of the 400 arrives inside this step
  });

  await step("create a token with a tag and 3 uses: the secret is shown once, with the agent command", async () => {
    await page.getByLabel("Name", { exact: true }).fill(tokenName);
    await page.getByLabel("Uses", { exact: true }).fill("3");
    await page.getByLabel("Tags", { exact: true }).fill("rack-7");
    await page.getByLabel("Tags", { exact: true }).press("Enter");
    const box = page.locator("#token-secret");
    await box.waitFor();
    check(/shown only now/i.test(await box.innerText()), "the secret has no \"shown only now\" note");
    const field = page.getByLabel("Join token", { exact: true });
    check((await field.getAttribute("readonly")) !== null, "the secret's field is not read-only");
    secret = await field.inputValue();
    check(/^llmlb_jt_\S+$/.test(secret), `the secret field holds "${secret.slice(0, 12)}…"`);
    check((await page.evaluate(() => document.activeElement.id)) === "token-secret-value", "the secret's field has no focus");
    const command = (await page.locator("#token-command").innerText()).trim();
    check(command.includes("llmlb-node") && command.includes("--join-token-file FILE"), `the agent command reads "${command}"`);
    const row = tokenRow(page, tokenName);
    await row.waitFor();
    check((await cellText(row, "uses-left")) === "3", `uses left reads "${await cellText(row, "uses-left")}"`);
    check((await cellText(row, "tags")) === "rack-7", `tags read "${await cellText(row, "tags")}"`);
    check(/^in 23h/.test(await cellText(row, "expires")), `the expiry reads "${await cellText(row, "expires")}"`);
    check(!(await row.evaluate((tr) => tr.classList.contains("is-expired"))), "the new token looks expired");
    check((await page.getByLabel("Uses", { exact: true }).inputValue()) === "", "the form was not reset");
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    await until("Copy says nothing", async () => (await page.locator("#token-copy-status").innerText()).trim() !== "");
    check(await page.evaluate((s) => !JSON.stringify({ ...localStorage }).includes(s) && !JSON.stringify({ ...sessionStorage }).includes(s), secret),
      "the secret is in the browser's storage");
    await page.screenshot({ path: screenshot, fullPage: true });
  });

  await step("a machine registers with the token read from the page; the list shows 2 uses left", async () => {
    const resp = await fetch(baseUrl + "/v0/nodes", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Join-Token": secret },
      body: JSON.stringify({
        machine_name: "gpu-joined",
        ip_address: "10.40.0.7",
        runtime_version: "llama.cpp b4000",
        runtime_port: 8080,
        node_api_port: 8080,
        gpu_available: true,
        gpu_devices: [{ model: "NVIDIA RTX 4090", count: 2, memory: 25757220864 }],
      }),
    });
    const body = await resp.json();
    check(resp.status === 201, `registering with the token answered ${resp.status}: ${JSON.stringify(body)}`);
    nodeId = body.node_id;
    const row = tokenRow(page, tokenName);
    await until("the list does not show 2 uses left", async () => (await cellText(row, "uses-left")) === "2", 8000);
    check((await cellText(row, "last-used")) !== "never", "the token's last use is not shown");
    check(await page.locator("#token-secret").isVisible(), "a refresh of the list took the secret away before Done");
  });

  await step("closing the panel forgets the secret; reopened, it is gone", async () => {
    await page.locator("#tokens-close").click();
    check(!(await page.locator("#tokens-panel").isVisible()), "Close did not close the panel");
    check((await page.evaluate(() => document.activeElement.id)) === "tokens-toggle", "the focus did not go back to the button");
    const inPage = () => page.evaluate((s) => {
      const values = [...document.querySelectorAll("input, textarea")].map((e) => e.value);
      return document.documentElement.textContent.includes(s) || values.some((v) => v.includes(s));
    }, secret);
    check(!(await inPage()), "the secret is still in the page after closing the panel");
    await page.getByRole("button", { name: "Join tokens", exact: true }).click();
    await tokenRow(page, tokenName).waitFor();
    check(!(await page.locator("#token-secret").isVisible()), "the secret box shows again after reopening");
    check(!(await inPage()), "the secret is back in the page after reopening");
  });

  await step("narrow screen (360 px): the panel fits, screenshot", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(200);
    await noHorizontalOverflow(page, 360);
    const box = await tokenRow(page, tokenName).getByRole("button", { name: /^Revoke / }).boundingBox();
    check(box && box.x >= 0 && box.x + box.width <= 360, "the Revoke button sticks out of a narrow screen");
    await page.screenshot({ path: besideScreenshot("-narrow"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step("Revoke asks first; Cancel keeps the token, confirming revokes it", async () => {
    const revoke = tokenRow(page, tokenName).getByRole("button", { name: /^Revoke join token / });
    await revoke.click();
    const d = page.locator("#confirm-dialog");
    await d.waitFor();
    check(/Revoke join token rack 7 batch/.test(await page.locator("#confirm-title").innerText()), "the confirmation does not name the token");
    check((await page.locator("#confirm-ok").innerText()).trim() === "Revoke token", "the confirm button does not say Revoke token");
    await page.getByRole("button", { name: "Cancel" }).click();
    await until("Cancel did not close the confirmation", async () => !(await d.evaluate((e) => e.open)));
    await nextPoll();
    check((await tokenRow(page, tokenName).count()) === 1, "Cancel revoked the token");
    await revoke.click();
    await d.waitFor();
    await page.locator("#confirm-ok").click();
    await until("the revoked token is still listed", async () => (await tokenRow(page, tokenName).count()) === 0);
    check(/Revoked join token rack 7 batch/.test(await page.locator("#token-notice").innerText()), "no notice says the token was revoked");
    const focused = await page.evaluate(() => document.activeElement.id);
    check(focused === "tokens-heading", `after the revocation the focus is on "${focused}"`);
    // The expired one goes too, so that the daemon lists none.
    await tokenRow(page, expiredName).getByRole("button", { name: /^Revoke / }).click();
    await d.waitFor();
    await page.locator("#confirm-ok").click();
    await until("the expired token is still listed", async () => (await tokenRow(page, expiredName).count()) === 0);
    await until("the empty list says nothing", async () => /No join tokens/.test(await page.locator("#token-list-status").innerText()));
    check(!(await page.locator("#tokens-table").isVisible()), "an empty table is shown");
    await page.locator("#tokens-close").click();
  });

  await step("recent activity on a daemon without it (404): a sentence, not an error", async () => {
    allow(404, "/v0/audit");
    const isAudit = (url) => url.pathname === "/v0/audit";
    const missing = (route) => route.fulfill({
      status: 404,
      contentType: "application/json",
      body: JSON.stringify({ error: "no route for GET /v0/audit", code: "route_not_found" }),
    });
    await page.route(isAudit, missing);
    await page.getByRole("button", { name: "Recent activity", exact: true }).click();
    await page.locator("#activity-panel").waitFor();
    await until("the 404 is not explained",
      async () => (await page.locator("#activity-status").innerText()).trim() === "Activity is not available on this daemon.");
    check(!(await page.locator("#activity-error").isVisible()), "the 404 shows as an error");
    check(!(await page.locator("#activity-table").isVisible()), "a table is shown without activity");
    await page.unroute(isAudit, missing);
    await page.locator("#activity-close").click();
    await page.waitForTimeout(300);
  });

  await step("recent activity as a table: newest first, relative times, text only, polled while open", async () => {
    const at = new Date(Date.now() - 90_000).toISOString();
    const events = [
      { id: 2, at, actor_kind: "user", actor_id: "admin", actor_name: "admin", source: "127.0.0.1",
        action: "join_token.create", target: "0123456789abcdef", outcome: "ok", detail: "<img src=x onerror=\"window.__pwned=1\">3 uses" },
      { id: 1, at: new Date(Date.now() - 3_600_000).toISOString(), actor_kind: "anonymous", actor_id: null, actor_name: null,
        source: "10.0.0.9", action: "login.failure", target: null, outcome: "denied", detail: "wrong password for admin" },
    ];
    const limits = [];
    const isAudit = (url) => url.pathname === "/v0/audit";
    const serve = (route) => {
      limits.push(new URL(route.request().url()).searchParams.get("limit"));
      return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(events) });
    };
    await page.route(isAudit, serve);
    await page.getByRole("button", { name: "Recent activity", exact: true }).click();
    const rows = page.locator("#activity-body tr");
    await until("the activity table has no rows", async () => (await rows.count()) === 2);
    check(limits[0] === "50", `the panel asked for limit=${limits[0]}`);
    const first = rows.first();
    check((await cellText(first, "time")) === "1m ago", `the time reads "${await cellText(first, "time")}"`);
    check(((await first.locator("time").getAttribute("title")) || "").length > 8, "the time has no absolute title");
    check((await cellText(first, "action")) === "join_token.create", "the action column is wrong");
    check((await cellText(first, "actor")).startsWith("admin"), `the actor reads "${await cellText(first, "actor")}"`);
    check((await cellText(first, "target")) === "0123456789abcdef", "the target column is wrong");
    check((await cellText(first, "outcome")) === "ok", "the outcome column is wrong");
    check((await cellText(first, "detail")).startsWith("<img"), "the detail is not shown as text");
    check((await page.locator("#activity-body img").count()) === 0 && await page.evaluate(() => window.__pwned === undefined),
      "the detail was inserted as markup");
    const second = rows.nth(1);
    check((await cellText(second, "outcome")) === "denied", "the denied outcome is not shown");
    check((await cellText(second, "target")) === "—", "a missing target is not a dash");
    const before = limits.length;
    await nextPoll();
    check(limits.length > before, "the open panel does not follow the polls");
    await page.screenshot({ path: besideScreenshot("-activity"), fullPage: true });
    await page.locator("#activity-close").click();
    const closed = limits.length;
    await nextPoll();
    check(limits.length === closed, "the closed panel still asks for activity");
    await page.unroute(isAudit, serve);
  });

  await step("recent activity from this daemon: a table or the sentence, never an error", async () => {
    allow(404, "/v0/audit");
    await page.getByRole("button", { name: "Recent activity", exact: true }).click();
    await until("the panel shows neither activity nor its absence", async () => {
      const status = (await page.locator("#activity-status").innerText()).trim();
      return status === "Activity is not available on this daemon." || /latest event|No activity/.test(status);
    });
    check(!(await page.locator("#activity-error").isVisible()), "the daemon's activity shows an error");
    await page.locator("#activity-close").click();
    await page.waitForTimeout(300);
  });

  await context.close();
  return nodeId;
}

async function main() {
  mkdirSync(path.dirname(screenshot), { recursive: true });
  const browser = await launchBrowser(executablePath);
  let failed = null;
  let nodeId = "";
  try {
    await viewerChecks(browser);
    nodeId = await adminChecks(browser);
    currentStep = "the end";
    check(problems.length === 0, problems.join("\n"));
  } catch (e) {
    failed = e;
    if (currentPage && !currentPage.isClosed()) {
      await currentPage.screenshot({ path: besideScreenshot("-failure"), fullPage: true }).catch(() => {});
    }
  } finally {
    await browser.close().catch(() => {});
  }
  if (failed) {
    const detail = failed instanceof Failure ? failed.message : (failed && failed.stack) || String(failed);
    console.error(`FAIL in "${currentStep}": ${detail}`);
    if (problems.length) console.error("also:\n" + problems.join("\n"));
    process.exit(1);
  }
  console.log(`NODE_ID=${nodeId}`);
  console.log(`PASS: ${requests.length} requests, all to ${origin}`);
}

const watchdog = setTimeout(() => {
  console.error(`FAIL in "${currentStep}": the browser test took more than ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

main().catch((e) => {
  console.error(`FAIL: ${(e && e.stack) || e}`);
  process.exit(1);
});
