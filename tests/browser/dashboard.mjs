// Drives the llmlbd dashboard in Debian's headless Chromium with playwright-core.
// Run by tests/dashboard.rs, which starts the daemon and prepares the fleet;
// it can also be run by hand against a prepared daemon:
//
//   LLMLB_URL=http://127.0.0.1:32768 ADMIN_PASSWORD=... VIEWER_TOKEN=llmlb_ak_... \
//   PENDING_NODE=gpu-pending ONLINE_NODE=inference-1 SCREENSHOT=target/dashboard.png \
//   node tests/browser/dashboard.mjs
//
// Environment:
//   LLMLB_URL        the daemon's origin (required)
//   ADMIN_USERNAME   default "admin"
//   ADMIN_PASSWORD   (required)
//   VIEWER_TOKEN     an API key with role viewer (required)
//   PENDING_NODE     display name of a node waiting in pending (required)
//   ONLINE_NODE      display name of an approved online node (required)
//   ONLINE_MACHINE   its machine name, when ONLINE_NODE is a custom name
//   HOSTILE_NODE     display name of a node whose name contains markup (optional)
//   SCREENSHOT       where the main screenshot goes (required); the others go
//                    beside it: -narrow, -detail, -login, -unreachable
//   CHROMIUM         the browser, default /usr/bin/chromium
//
// Exits 0 when every check passed, 1 with a message naming the failed check.

import { Failure, check, launchBrowser, required, waitUntil } from "./common.mjs";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";

const TOTAL_TIMEOUT_MS = 150_000;
const WAIT_MS = 10_000;

const baseUrl = required("LLMLB_URL").replace(/\/+$/, "");
const origin = new URL(baseUrl).origin;
const adminUser = process.env.ADMIN_USERNAME || "admin";
const adminPassword = required("ADMIN_PASSWORD");
const viewerToken = required("VIEWER_TOKEN");
const pendingName = required("PENDING_NODE");
const onlineName = required("ONLINE_NODE");
const onlineMachine = process.env.ONLINE_MACHINE || "";
const hostileName = process.env.HOSTILE_NODE || "";
const screenshot = path.resolve(required("SCREENSHOT"));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function besideScreenshot(suffix) {
  const ext = path.extname(screenshot) || ".png";
  return screenshot.slice(0, screenshot.length - path.extname(screenshot).length) + suffix + ext;
}

// ---------------------------------------------------------------- watchers

let currentStep = "start";
let currentPage = null; // for a screenshot when a check fails
let allowed = []; // network errors the current step provokes on purpose
const problems = [];
const requested = [];

// A 4xx/5xx reply or an aborted request shows in Chromium's console as
// "Failed to load resource"; a step that provokes one on purpose says so.
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
    requested.push(url);
    if (!(url === origin || url.startsWith(origin + "/"))) {
      problems.push(`a request left the daemon's origin during "${currentStep}": ${url}`);
    }
  });
  context.on("page", (page) => watchPage(page));
}

function watchPage(page) {
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const url = msg.location().url;
    if (isAllowed(msg.text(), url)) return;
    problems.push(`console error during "${currentStep}": ${msg.text()}${url ? " (" + url + ")" : ""}`);
  });
  page.on("pageerror", (err) => {
    problems.push(`uncaught page error during "${currentStep}": ${err.message}`);
  });
  page.on("dialog", (d) => {
    problems.push(`the page opened a native ${d.type()} dialog during "${currentStep}": ${d.message()}`);
    d.dismiss().catch(() => {});
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

// Polls `fn` until it returns a truthy value; fails with `message` after `ms`.
const until = (message, fn, ms = WAIT_MS) => waitUntil(message, fn, ms);

// ---------------------------------------------------------------- page helpers

const row = (page, name) =>
  page.locator("#nodes-body tr").filter({
    has: page.getByRole("button", { name: `${name}: details`, exact: true }),
  });

const nameButton = (page, name) => page.getByRole("button", { name: `${name}: details`, exact: true });

async function rowText(page, name, selector) {
  return (await row(page, name).locator(selector).innerText()).trim();
}

async function summaryText(page) {
  return (await page.locator("#summary").innerText()).trim();
}

// Waits until the page has polled the daemon again.
async function nextRefresh(page) {
  const n = await page.evaluate(() => window.__polls || 0);
  await until("the page did not refresh the node list within 6 s", async () => {
    return (await page.evaluate(() => window.__polls || 0)) > n;
  }, 6000);
}

// Counts successful GET /v0/nodes replies in the page, without touching the app.
function countPolls(page) {
  page.on("response", (resp) => {
    if (resp.request().method() === "GET" && new URL(resp.url()).pathname === "/v0/nodes" && resp.ok()) {
      resp.finished().then(() => page.evaluate(() => {
        window.__polls = (window.__polls || 0) + 1;
      })).catch(() => {});
    }
  });
}

async function activeFocusKey(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    return a ? a.dataset.focusKey || a.id || a.tagName : null;
  });
}

async function login(page, password) {
  await page.getByLabel("Username", { exact: true }).fill(adminUser);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Password", { exact: true }).press("Enter");
}

async function noHorizontalOverflow(page, width) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  check(sw <= width, `the page is ${sw} px wide at a ${width} px viewport: something overflows`);
}

// ---------------------------------------------------------------- the checks

async function viewerChecks(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  watch(context);
  const page = await context.newPage();
  currentPage = page;
  page.setDefaultTimeout(WAIT_MS);

  await step("viewer: the page renders the fleet without any action button", async () => {
    await page.goto(baseUrl + "/dashboard");
    await page.locator("#login-form").waitFor();
    await page.evaluate((token) => {
      localStorage.setItem("llmlb.session", JSON.stringify({ token, role: "viewer", username: "viewer" }));
    }, viewerToken);
    await page.reload();
    await row(page, pendingName).waitFor();
    await row(page, onlineName).waitFor();
    check(await row(page, pendingName).locator(".status-pending").isVisible(),
      "the viewer does not see the pending badge");
    check((await page.locator("#user-role").innerText()).trim() === "viewer", "the header does not say viewer");
    const actions = await page.locator("[data-action]:not([data-action=detail])").count();
    check(actions === 0, `the viewer sees ${actions} action button(s)`);
    for (const label of ["Approve", "Remove", "Rotate token"]) {
      const n = await page.getByRole("button", { name: new RegExp("^" + label) }).count();
      check(n === 0, `the viewer sees a "${label}" button`);
    }
    check(!(await page.locator("#actions-heading").isVisible()), "the viewer sees an Actions column");
  });

  await step("viewer: the API refuses approval with the viewer's key (403)", async () => {
    const id = await row(page, pendingName).getAttribute("data-node-id");
    check(id, "the pending row carries no data-node-id");
    allow(403, `/v0/nodes/${id}/approve`);
    const r = await page.evaluate(async ([nodeId, token]) => {
      const resp = await fetch(`/v0/nodes/${encodeURIComponent(nodeId)}/approve`, {
        method: "POST",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
        body: "{}",
      });
      return { status: resp.status, body: await resp.json().catch(() => null) };
    }, [id, viewerToken]);
    check(r.status === 403, `approve with a viewer key answered ${r.status}, not 403: ${JSON.stringify(r.body)}`);
    check(r.body && typeof r.body.error === "string" && typeof r.body.code === "string",
      `the 403 is not {error, code}: ${JSON.stringify(r.body)}`);
    await page.waitForTimeout(300); // let the console message of the 403 arrive inside this step
  });

  await context.close();
}

async function adminChecks(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  watch(context);
  const page = await context.newPage();
  currentPage = page;
  page.setDefaultTimeout(WAIT_MS);
  countPolls(page);
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations += 1;
  });

  await step("the login form has labelled inputs and a real submit button", async () => {
    await page.goto(baseUrl + "/dashboard");
    await page.getByLabel("Username", { exact: true }).waitFor();
    await page.getByLabel("Password", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    check(!(await page.locator("#nodes-view").isVisible()), "the nodes are visible before signing in");
  });

  await step("a wrong password shows a clear message", async () => {
    allow(401, "/v0/auth/login");
    await login(page, "not-the-password");
    const err = page.locator("#login-error");
    await err.waitFor();
    const text = (await err.innerText()).trim();
    check(/wrong username or password/i.test(text), `the message for a wrong password is "${text}"`);
    check(await page.locator("#login-view").isVisible(), "the login form went away after a wrong password");
    await page.screenshot({ path: besideScreenshot("-login"), fullPage: true });
  });

  await step("login with the right password shows the nodes", async () => {
    await login(page, adminPassword);
    await page.locator("#nodes-view").waitFor();
    check(!(await page.locator("#login-error").isVisible()), "the wrong-password message is still shown");
    check((await page.locator("#user-name").innerText()).trim() === adminUser, "the header does not name the user");
    check((await page.locator("#user-role").innerText()).trim() === "admin", "the header does not say admin");
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("llmlb.session") || "null"));
    check(stored && stored.token && stored.token.startsWith("llmlb_st_") && stored.role === "admin",
      "the session is not kept in localStorage");
  });

  await step("the pending node comes first, with its badge and the count in the header", async () => {
    await row(page, pendingName).waitFor();
    await row(page, onlineName).waitFor();
    const first = await page.locator("#nodes-body tr").first().locator(".name-btn").innerText();
    check(first.trim() === pendingName, `the first row is "${first}", not the pending node`);
    const badge = row(page, pendingName).locator(".badge.status-pending");
    check(await badge.isVisible(), "the pending node has no visible pending badge");
    check(/pending/i.test(await badge.innerText()), "the pending badge does not say pending");
    const count = page.locator("#pending-count");
    check(await count.isVisible(), "the header shows no pending count");
    const countText = (await count.innerText()).trim();
    check(/^\D*1 pending$/.test(countText), `the header count reads "${countText}"`);
    check(await row(page, pendingName).getByRole("button", { name: new RegExp("^Approve ") }).isVisible(),
      "the pending node has no Approve button");
    check(/\(1 pending\)/.test(await page.title()), `the title does not count the pending node: ${await page.title()}`);
  });

  await step("the online node shows status, address, GPUs, models, last seen and use", async () => {
    const r = row(page, onlineName);
    check(/online/i.test(await rowText(page, onlineName, ".col-status")), "the online node is not shown online");
    const addr = await rowText(page, onlineName, ".col-address");
    check(/^[\d.]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(addr), `the address reads "${addr}"`);
    const gpus = await rowText(page, onlineName, ".col-gpus");
    check(gpus === "2\u00d7 RTX 4090", `the GPU column reads "${gpus}"`);
    check((await rowText(page, onlineName, ".col-models")).includes("llama-3-8b"), "the models column lacks llama-3-8b");
    const seen = await rowText(page, onlineName, ".col-last-seen");
    check(/^(just now|\d+s ago)$/.test(seen), `last seen reads "${seen}"`);
    const use = await rowText(page, onlineName, ".col-use");
    for (const want of ["CPU", "13%", "Mem", "40%", "GPU", "80%"]) {
      check(use.includes(want), `the use column lacks "${want}": ${use}`);
    }
    if (onlineMachine) {
      const m = (await r.locator(".machine-name").innerText()).trim();
      check(m === onlineMachine, `the machine name beside the custom name reads "${m}"`);
    }
    const pendingAddr = await rowText(page, pendingName, ".col-address");
    check(/^\[[0-9a-f:]+\]:\d+$/i.test(pendingAddr) || /^[\d.]+:\d+$/.test(pendingAddr),
      `the pending node's address reads "${pendingAddr}"`);
  });

  if (hostileName) {
    await step("a node name with markup is shown as text, never run", async () => {
      await row(page, hostileName).waitFor();
      check((await page.locator("#nodes-body img, #nodes-body script").count()) === 0,
        "a node's name was inserted as markup");
      check(await page.evaluate(() => window.__pwned === undefined), "a node's name ran code");
    });
  }

  await step("screenshots at 1280 px, light and dark", async () => {
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(400); // let the colour transitions finish
    await page.screenshot({ path: besideScreenshot("-dark"), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });
  });

  await step("narrow screen (360 px): no horizontal overflow, screenshot", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await nextRefresh(page);
    await noHorizontalOverflow(page, 360);
    check(await row(page, pendingName).getByRole("button", { name: /^Approve / }).isVisible(),
      "the Approve button is not visible on a narrow screen");
    const box = await row(page, pendingName).getByRole("button", { name: /^Approve / }).boundingBox();
    check(box && box.x >= 0 && box.x + box.width <= 360, "the Approve button sticks out of a narrow screen");
    await page.screenshot({ path: besideScreenshot("-narrow"), fullPage: true });
    await nameButton(page, onlineName).click();
    await page.locator("#detail-dialog").waitFor();
    await noHorizontalOverflow(page, 360);
    await page.screenshot({ path: besideScreenshot("-narrow-detail"), fullPage: false });
    await page.getByRole("button", { name: "Close", exact: true }).click();
    await page.locator("#detail-dialog").waitFor({ state: "hidden" });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step("keyboard focus stays put across live refreshes", async () => {
    await nameButton(page, onlineName).focus();
    const want = await activeFocusKey(page);
    check(want && want.startsWith("name:"), `focusing the node name gave ${want}`);
    await nextRefresh(page);
    await nextRefresh(page);
    check((await activeFocusKey(page)) === want, `focus moved to ${await activeFocusKey(page)} after a refresh`);
    await page.locator("#status-filter").focus();
    await nextRefresh(page);
    check((await activeFocusKey(page)) === "status-filter", "the status filter lost focus after a refresh");
    // Tab from the pending node's name reaches its Approve button.
    await nameButton(page, pendingName).focus();
    await page.keyboard.press("Tab");
    const next = await activeFocusKey(page);
    check(next && next.startsWith("approve:"), `Tab from the pending node's name went to ${next}, not Approve`);
  });

  await step("the detail view opens with Enter and shows GPUs, models, token and times", async () => {
    await nameButton(page, onlineName).focus();
    await page.keyboard.press("Enter");
    const d = page.locator("#detail-dialog");
    await d.waitFor();
    check(await d.evaluate((e) => e.open), "the detail dialog is not open");
    const text = await d.textContent();
    for (const want of ["GPUs", "NVIDIA RTX 4090", "24.0 GiB each", "Models", "llama-3-8b", "Token age",
      "Registered", "Approved", "Last seen", "Online since", "Metrics", "Tags", "Notes"]) {
      check(text.includes(want), `the detail view lacks "${want}"`);
    }
    check((await activeFocusKey(page)) === "detail-close", "focus did not move into the detail view");
    await page.screenshot({ path: besideScreenshot("-detail"), fullPage: false });
    await page.keyboard.press("Escape");
    await until("Escape did not close the detail view", async () => !(await d.evaluate((e) => e.open)));
    const back = await activeFocusKey(page);
    check(back && back.startsWith("name:"), `after closing the detail view the focus is on ${back}`);
  });

  if (hostileName) {
    await step("Remove asks in a dialog; Cancel keeps the node, confirming removes it", async () => {
      const remove = row(page, hostileName).getByRole("button", { name: /^Remove / });
      await remove.click();
      const d = page.locator("#confirm-dialog");
      await d.waitFor();
      check(await d.evaluate((e) => e.open), "the confirmation is not an open <dialog>");
      check((await activeFocusKey(page)) === "confirm-cancel", "Cancel does not have the focus in the confirmation");
      await page.screenshot({ path: besideScreenshot("-confirm"), fullPage: false });
      await page.getByRole("button", { name: "Cancel" }).click();
      await until("Cancel did not close the confirmation", async () => !(await d.evaluate((e) => e.open)));
      await nextRefresh(page);
      check(await row(page, hostileName).isVisible(), "Cancel removed the node");
      await remove.click();
      await d.waitFor();
      await page.locator("#confirm-ok").click();
      await until("the removed node is still listed", async () => (await row(page, hostileName).count()) === 0);
      check(/Removed/.test(await page.locator("#notice").innerText()), "no notice says the node was removed");
    });
  }

  await step("a failed action shows the daemon's error sentence", async () => {
    const r = row(page, pendingName);
    const id = await r.getAttribute("data-node-id");
    const approvePath = `/v0/nodes/${id}/approve`;
    allow(409, approvePath);
    const sentence = "node is not pending: it was approved by someone else a moment ago";
    const isApprove = (url) => url.pathname === approvePath;
    const conflict = (route) => route.fulfill({
      status: 409,
      contentType: "application/json",
      body: JSON.stringify({ error: sentence, code: "not_pending" }),
    });
    await page.route(isApprove, conflict, { times: 1 });
    await r.getByRole("button", { name: /^Approve / }).click();
    const err = page.locator("#action-error");
    await err.waitFor();
    const text = await err.innerText();
    check(text.includes(sentence), `the action error reads "${text}"`);
    await page.unroute(isApprove, conflict);
    await page.getByRole("button", { name: "Dismiss" }).filter({ visible: true }).click();
    await err.waitFor({ state: "hidden" });
    await page.waitForTimeout(300); // the console message of the 409 arrives inside this step
  });

  await step("Approve by click: the page shows the node approved without a reload", async () => {
    await page.evaluate(() => {
      window.__sameDocument = "yes";
    });
    const navBefore = navigations;
    const r = row(page, pendingName);
    const id = await r.getAttribute("data-node-id");
    await r.getByRole("button", { name: /^Approve / }).click();
    await until("the approved node still shows pending", async () => {
      return (await r.locator(".status-pending").count()) === 0 && /registering|online|offline/i.test(await rowText(page, pendingName, ".col-status"));
    });
    check((await r.getByRole("button", { name: /^Approve / }).count()) === 0, "the approved node still has an Approve button");
    await until("the header still counts a pending node", async () => !(await page.locator("#pending-count").isVisible()));
    check(/Approved/.test(await page.locator("#notice").innerText()), "no notice says the node was approved");
    check(await page.evaluate(() => window.__sameDocument === "yes"), "the page reloaded");
    check(navigations === navBefore, "the page navigated");
    const node = await page.evaluate(async (nodeId) => {
      const s = JSON.parse(localStorage.getItem("llmlb.session"));
      const resp = await fetch("/v0/nodes/" + encodeURIComponent(nodeId), { headers: { Authorization: "Bearer " + s.token } });
      return resp.json();
    }, id);
    check(node.approved === true && node.status !== "pending", `the API shows the node ${JSON.stringify(node.status)}`);
    const focused = await activeFocusKey(page);
    check(focused === "name:" + id, `after approval the focus is on ${focused}, not the node's name`);
  });

  await step("a node that registers appears live, and a status change made elsewhere shows", async () => {
    const lateName = "gpu-late";
    const reply = await page.evaluate(async (machine) => {
      const resp = await fetch("/v0/nodes", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          machine_name: machine,
          ip_address: "10.20.0.99",
          runtime_version: "vllm 0.6.3",
          runtime_port: 8000,
          gpu_available: true,
          gpu_devices: [{ model: "NVIDIA H100 80GB HBM3", count: 8, memory: 85899345920 }],
        }),
      });
      return { status: resp.status, body: await resp.json() };
    }, lateName);
    check(reply.status === 201, `registering ${lateName} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    await row(page, lateName).waitFor();
    check(await row(page, lateName).locator(".status-pending").isVisible(), "the new node has no pending badge");
    check((await rowText(page, lateName, ".col-gpus")) === "8\u00d7 H100 80GB HBM3", "the new node's GPUs are not shown");
    await until("the header does not count the new pending node",
      async () => /^\D*1 pending$/.test((await page.locator("#pending-count").innerText()).trim()));
    // An admin elsewhere (llmlbctl, another tab) approves it: the page follows.
    const approved = await page.evaluate(async (id) => {
      const s = JSON.parse(localStorage.getItem("llmlb.session"));
      const resp = await fetch(`/v0/nodes/${encodeURIComponent(id)}/approve`, {
        method: "POST",
        headers: { Authorization: "Bearer " + s.token, "Content-Type": "application/json" },
        body: "{}",
      });
      return resp.status;
    }, reply.body.node_id);
    check(approved === 200, `approving ${lateName} through the API answered ${approved}`);
    await until("the page still shows the node approved elsewhere as pending",
      async () => (await row(page, lateName).locator(".status-pending").count()) === 0, 6000);
    await until("the header still counts a pending node", async () => !(await page.locator("#pending-count").isVisible()));
  });

  await step("Rotate token reports that a rotation started", async () => {
    await row(page, onlineName).getByRole("button", { name: /^Rotate token / }).click();
    await until("no notice about the rotation", async () => /Token rotation started/.test(await page.locator("#notice").innerText()));
  });

  await step("the status filter shows only the chosen status", async () => {
    await page.getByLabel("Status", { exact: true }).selectOption("pending");
    await until("the pending filter shows no empty-state message", async () => page.locator("#empty").isVisible());
    check(/waiting for approval/.test(await page.locator("#empty").innerText()), "the empty pending list says nothing useful");
    await page.getByLabel("Status", { exact: true }).selectOption("online");
    await until("the online filter shows no node", async () => (await page.locator("#nodes-body tr").count()) > 0);
    const statuses = await page.locator("#nodes-body .col-status").allInnerTexts();
    check(statuses.every((s) => /online/i.test(s)), `the online filter shows ${statuses.join(", ")}`);
    await page.getByLabel("Status", { exact: true }).selectOption("all");
    await row(page, pendingName).waitFor();
  });

  await step("an unreachable daemon shows a banner that clears when it is back", async () => {
    allow("net", "/v0/nodes");
    const refuse = (route) => route.abort("connectionrefused");
    const isNodes = (url) => url.pathname === "/v0/nodes";
    await page.route(isNodes, refuse);
    const banner = page.locator("#unreachable");
    await banner.waitFor();
    check(/cannot reach/i.test(await banner.innerText()), "the banner does not say the daemon cannot be reached");
    check(await row(page, onlineName).isVisible(), "the last known nodes disappeared while the daemon was away");
    await page.screenshot({ path: besideScreenshot("-unreachable"), fullPage: false });
    await page.unroute(isNodes, refuse);
    await banner.waitFor({ state: "hidden" });
  });

  await step("a reload keeps the session", async () => {
    await page.reload();
    await row(page, onlineName).waitFor();
    check(!(await page.locator("#login-view").isVisible()), "the reload asked to sign in again");
  });

  await step("an ended session returns to the login form with a message", async () => {
    allow(401, "/v0/nodes");
    const status = await page.evaluate(async () => {
      const s = JSON.parse(localStorage.getItem("llmlb.session"));
      const resp = await fetch("/v0/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + s.token } });
      return resp.status;
    });
    check(status === 204 || status === 200, `logout through the API answered ${status}`);
    await page.locator("#login-view").waitFor();
    check(/session has ended/i.test(await page.locator("#login-info").innerText()),
      "the login form does not say the session ended");
    check(await page.evaluate(() => localStorage.getItem("llmlb.session") === null), "the dead session is still stored");
  });

  await step("sign in again, then Sign out", async () => {
    await login(page, adminPassword);
    await row(page, onlineName).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#login-view").waitFor();
    check(/signed out/i.test(await page.locator("#login-info").innerText()), "no message after signing out");
    check(await page.evaluate(() => localStorage.getItem("llmlb.session") === null), "the session is still stored");
    check(!(await page.locator("#nodes-view").isVisible()), "the nodes are still visible after signing out");
  });

  await context.close();
}

async function main() {
  mkdirSync(path.dirname(screenshot), { recursive: true });
  rmSync(besideScreenshot("-failure"), { force: true });
  const browser = await launchBrowser(executablePath);
  let failed = null;
  try {
    await viewerChecks(browser);
    await adminChecks(browser);
    currentStep = "the end";
    check(requested.length > 0, "the browser made no requests at all");
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
  console.log(`PASS: ${requested.length} requests, all to ${origin}; screenshots beside ${screenshot}`);
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
