// How the llmlbd dashboard copes with a large fleet, in Debian's headless
// Chromium with playwright-core. Run by tests/dashboard.rs, which starts the
// daemon and imports the fleet (bench/dashboard.sh runs that test with
// MAX_TASK_MS); by hand:
//
//   LLMLB_URL=http://127.0.0.1:32768 ADMIN_PASSWORD=... ADMIN_TOKEN=llmlb_ak_... \
//   node tests/browser/large-fleet.mjs
//
// Environment:
//   LLMLB_URL        the daemon's origin (required)
//   ADMIN_USERNAME   default "admin"
//   ADMIN_PASSWORD   (required)
//   ADMIN_TOKEN      an admin API key, for the changes made behind the page's back (required)
//   MIN_NODES        the fleet must hold at least this many nodes (default 10000)
//   MAX_TASK_MS      the longest main-thread task allowed (optional: without
//                    it the longest task is printed, not judged)
//   TWIN_NAME        a machine name two nodes share (optional): both rows must
//                    say "same machine name as"
//   CHROMIUM         the browser, default /usr/bin/chromium
//
// It watches the page's main thread with a PerformanceObserver on "longtask"
// entries (every task over 50 ms) from the first byte on, through sign-in and
// the first render of the fleet, polls with nothing changed and polls that
// carry real changes (nodes approved and registered elsewhere), paging, the
// status filter, the search box, the detail view and the narrow layout (with
// the keyboard on the page controls). It prints the longest task of each
// phase, and fails when any task took longer than MAX_TASK_MS if that is set.
//
// What keeps the page fast does not depend on the machine, and is checked
// always: the table never holds more than a page of rows (a
// MutationObserver sees every change to it), the whole document stays
// smaller than the fleet, and a poll with nothing changed moves or inserts
// no row (rows are kept, and a cell is rewritten only when its text
// changed). Exits 0 when every check passed, 1 otherwise.

import { Failure, check, launchBrowser, required, waitUntil } from "./common.mjs";
import path from "node:path";

const TOTAL_TIMEOUT_MS = 170_000;
const WAIT_MS = 30_000;

const baseUrl = required("LLMLB_URL").replace(/\/+$/, "");
const adminUser = process.env.ADMIN_USERNAME || "admin";
const adminPassword = required("ADMIN_PASSWORD");
const adminToken = required("ADMIN_TOKEN");
const minNodes = Number(process.env.MIN_NODES || 10000);
const maxTaskMs = process.env.MAX_TASK_MS ? Number(process.env.MAX_TASK_MS) : null;
// The most rows the table may hold at once: a page (the page shows 100).
const MAX_ROWS = 200;
const twinName = process.env.TWIN_NAME || "";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

let currentStep = "start";
const problems = [];
const phases = []; // {name, longest, count}

const until = (message, fn, ms = WAIT_MS) => waitUntil(message, fn, ms);

// The daemon's API, from this process (not the page): what an admin with
// llmlbctl would do while the dashboard is open.
async function api(method, pathname, body) {
  const resp = await fetch(baseUrl + pathname, {
    method,
    headers: { Authorization: "Bearer " + adminToken, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

// Installed before any script of the page runs: records every long task,
// the most rows the node table ever held, and each row put into it.
function observeLongTasks() {
  window.__longTasks = [];
  window.__rows = { most: 0, inserted: 0 };
  new MutationObserver((list) => {
    for (const m of list) {
      if (m.target.id !== "nodes-body") continue;
      for (const n of m.addedNodes) if (n.nodeName === "TR") window.__rows.inserted += 1;
      window.__rows.most = Math.max(window.__rows.most, m.target.children.length);
    }
  }).observe(document, { childList: true, subtree: true });
  window.__longTaskSupported = typeof PerformanceObserver !== "undefined"
    && (PerformanceObserver.supportedEntryTypes || []).includes("longtask");
  if (!window.__longTaskSupported) return;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
    }
  }).observe({ type: "longtask", buffered: true });
}

// Long tasks recorded since `from` (an index into window.__longTasks); waits a
// moment first, since the observer reports a task after it ended.
async function longTasksSince(page, from) {
  await page.waitForTimeout(250);
  return page.evaluate((i) => window.__longTasks.slice(i), from);
}

async function taskCount(page) {
  return page.evaluate(() => window.__longTasks.length);
}

const rowStats = (page) => page.evaluate(() => ({ ...window.__rows }));
const domSize = (page) => page.evaluate(() => document.getElementsByTagName("*").length);
let total = 0;

// Runs `fn` as a named phase; records the longest main-thread task in it and
// the rows inserted into the table, and checks the table and the document
// against the fleet's size. Returns the rows inserted.
async function phase(page, name, fn) {
  currentStep = name;
  const from = await taskCount(page);
  const rowsBefore = await rowStats(page);
  const started = Date.now();
  await fn();
  const tasks = await longTasksSince(page, from);
  const rows = await rowStats(page);
  const elements = await domSize(page);
  const inserted = rows.inserted - rowsBefore.inserted;
  const longest = tasks.reduce((m, t) => Math.max(m, t.duration), 0);
  phases.push({ name, longest, count: tasks.length });
  console.log(`ok - ${name}: ${Date.now() - started} ms, longest main-thread task ${longest} ms`
    + ` (${tasks.length} task(s) over 50 ms${tasks.length ? ": " + tasks.map((t) => t.duration).join(", ") : ""});`
    + ` ${inserted} row(s) inserted, at most ${rows.most} in the table, ${elements} elements in the document`);
  check(rows.most <= MAX_ROWS, `during "${name}" the table held ${rows.most} rows of ${total} at once, more than a page`);
  check(elements < total, `after "${name}" the document holds ${elements} elements, as many as the fleet's ${total} nodes`);
  return inserted;
}

// Successful GET /v0/nodes replies the page has received so far.
let polls = 0;
function countPolls(page) {
  page.on("response", (resp) => {
    if (resp.request().method() === "GET" && new URL(resp.url()).pathname === "/v0/nodes" && resp.ok()) {
      resp.finished().then(() => {
        polls += 1;
      }).catch(() => {});
    }
  });
}

async function pollsAfter(count) {
  const n = polls;
  await until(`the page did not poll the node list ${count} more time(s)`, async () => polls >= n + count, 20_000);
}

const bodyRows = (page) => page.locator("#nodes-body tr");

async function headerPending(page) {
  const count = page.locator("#pending-count");
  if (!(await count.isVisible())) return 0;
  return Number((await count.innerText()).replace(/\D/g, ""));
}

async function summary(page) {
  return (await page.locator("#summary").innerText()).trim();
}

async function pageRange(page) {
  return (await page.locator(".pager-range").first().innerText()).trim();
}

async function main() {
  const fleet = await api("GET", "/v0/nodes");
  check(fleet.status === 200, `GET /v0/nodes answered ${fleet.status}`);
  total = fleet.body.length;
  check(total >= minNodes, `the fleet holds ${total} nodes, fewer than ${minNodes}`);
  const pendingIds = fleet.body.filter((n) => n.status === "pending").map((n) => n.id).sort();
  check(pendingIds.length >= 200, `the fleet has only ${pendingIds.length} pending nodes`);
  console.log(`fleet: ${total} nodes, ${pendingIds.length} pending; GET /v0/nodes is ${JSON.stringify(fleet.body).length} bytes`);

  const browser = await launchBrowser(executablePath);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(observeLongTasks);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error during "${currentStep}": ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`uncaught page error during "${currentStep}": ${err.message}`));
    countPolls(page);

    await page.goto(baseUrl + "/dashboard");
    await page.getByLabel("Password", { exact: true }).waitFor();
    check(await page.evaluate(() => window.__longTaskSupported),
      "this Chromium does not report longtask entries, so main-thread stalls cannot be measured");

    await phase(page, "the long-task observer sees a 120 ms busy task", async () => {
      // In a task of the page's own (code run by page.evaluate is not one).
      await page.evaluate(() => new Promise((resolve) => {
        setTimeout(() => {
          const end = performance.now() + 120;
          while (performance.now() < end) { /* busy on purpose */ }
          resolve();
        }, 0);
      }));
    });
    check(phases[0].longest >= 100, `the observer missed a 120 ms task (it saw ${phases[0].longest} ms)`);
    phases.shift();

    await phase(page, `sign in and first render of ${total} nodes`, async () => {
      await page.getByLabel("Username", { exact: true }).fill(adminUser);
      await page.getByLabel("Password", { exact: true }).fill(adminPassword);
      await page.getByLabel("Password", { exact: true }).press("Enter");
      await until("the summary does not count the fleet", async () => (await summary(page)).replace(/\D/g, "").startsWith(String(total)));
      await bodyRows(page).first().waitFor();
    });
    const shown = await bodyRows(page).count();
    check(shown >= 50 && shown <= 200, `the page shows ${shown} rows of ${total} at once, not a page of 50 to 200`);
    check((await bodyRows(page).first().locator(".status-pending").count()) === 1, "the first row is not a pending node");
    check(/ of /.test(await pageRange(page)), `the pager reads "${await pageRange(page)}"`);

    const moved = await phase(page, "two polls with nothing changed", async () => {
      await pollsAfter(2);
    });
    check(moved === 0, `two polls with nothing changed inserted ${moved} row(s): the table was rebuilt, not updated`);

    // Behind the page's back: 100 pending nodes approved, 50 machines registered.
    const approveIds = pendingIds.slice(0, 100);
    await phase(page, "polls while 100 nodes are approved and 50 register elsewhere", async () => {
      for (const id of approveIds) {
        const r = await api("POST", `/v0/nodes/${encodeURIComponent(id)}/approve`, {});
        check(r.status === 200, `approving ${id} answered ${r.status}`);
      }
      for (let i = 0; i < 50; i += 1) {
        const r = await api("POST", "/v0/nodes", {
          machine_name: `late-${String(i).padStart(3, "0")}`,
          ip_address: `10.99.0.${i + 1}`,
          runtime_version: "vllm 0.6.3",
          runtime_port: 8000,
          gpu_available: true,
          gpu_devices: [{ model: "NVIDIA H100 80GB HBM3", count: 8 }],
        });
        check(r.status === 201, `registering late-${i} answered ${r.status}`);
      }
      const want = (await api("GET", "/v0/nodes?status=pending")).body.length;
      await until(`the header does not show ${want} pending`, async () => (await headerPending(page)) === want);
      await pollsAfter(2);
    });
    // The first row is the first pending node by name, as the API lists it now.
    const pendingNow = (await api("GET", "/v0/nodes?status=pending")).body
      .map((n) => ({ name: (n.custom_name || "").trim() || n.machine_name, id: n.id }))
      .sort((a, b) => {
        const x = a.name.toLowerCase();
        const y = b.name.toLowerCase();
        return x !== y ? (x < y ? -1 : 1) : (a.id < b.id ? -1 : 1);
      });
    const firstName = (await bodyRows(page).first().locator(".name-btn").innerText()).trim();
    check(firstName === pendingNow[0].name, `the first row is "${firstName}", not "${pendingNow[0].name}"`);
    check(!approveIds.includes(await bodyRows(page).first().getAttribute("data-node-id")),
      "the first row is a node approved elsewhere");

    await phase(page, "next page, last page, first page", async () => {
      const before = await pageRange(page);
      await page.getByRole("button", { name: "Next page" }).first().click();
      await until("Next page did not change the range", async () => (await pageRange(page)) !== before);
      await page.getByRole("button", { name: "Last page" }).first().click();
      await until("Last page did not reach the end", async () => {
        const r = (await pageRange(page)).replace(/[\s,.\u00a0\u202f]/g, "");
        const m = /(\d+)of(\d+)/.exec(r);
        return m && m[1] === m[2];
      });
      const lastRows = await bodyRows(page).count();
      check(lastRows >= 1 && lastRows <= 200, `the last page shows ${lastRows} rows`);
      await page.getByRole("button", { name: "First page" }).first().click();
      await until("First page did not go back", async () => (await pageRange(page)).replace(/\D+/g, " ").trim().startsWith("1 "));
    });

    await phase(page, "status filter: offline, then all", async () => {
      await page.getByLabel("Status", { exact: true }).selectOption("offline");
      await until("the offline filter shows a pending node", async () =>
        (await bodyRows(page).first().locator(".status-offline").count()) === 1);
      await pollsAfter(1);
      await page.getByLabel("Status", { exact: true }).selectOption("all");
      await until("the all filter does not start with pending", async () =>
        (await bodyRows(page).first().locator(".status-pending").count()) === 1);
    });

    await phase(page, "search for one node among all, then clear it", async () => {
      const search = page.getByLabel("Search", { exact: true });
      await search.pressSequentially("fleet-07778", { delay: 20 });
      await until("the search does not narrow the list to one node", async () =>
        (await bodyRows(page).count()) === 1
        && (await bodyRows(page).first().locator(".name-btn").innerText()).includes("07778"));
      await pollsAfter(1);
      check((await bodyRows(page).count()) === 1, "a poll undid the search");
      await search.fill("");
      await until("clearing the search does not bring the fleet back", async () => (await bodyRows(page).count()) >= 50);
    });

    if (twinName) {
      await phase(page, "two nodes with one machine name are both marked", async () => {
        const search = page.getByLabel("Search", { exact: true });
        await search.fill(twinName);
        await until(`the search for ${twinName} does not show its two nodes`, async () =>
          (await bodyRows(page).count()) === 2);
        for (let i = 0; i < 2; i++) {
          const text = await bodyRows(page).nth(i).innerText();
          check(/same machine name as [0-9a-f]{8}/.test(text), `row ${i} of ${twinName} is not marked: ${text}`);
        }
        await search.fill("");
        await until("clearing the search does not bring the fleet back", async () => (await bodyRows(page).count()) >= 50);
      });
    }

    await phase(page, "open a node's details and close them across a poll", async () => {
      await bodyRows(page).first().locator(".name-btn").click();
      await page.locator("#detail-dialog").waitFor();
      await pollsAfter(1);
      await page.keyboard.press("Escape");
      await page.locator("#detail-dialog").waitFor({ state: "hidden" });
    });

    await phase(page, "narrow screen (360 px) with page controls", async () => {
      await page.setViewportSize({ width: 360, height: 740 });
      await pollsAfter(1);
      const sw = await page.evaluate(() => document.documentElement.scrollWidth);
      check(sw <= 360, `the page is ${sw} px wide at a 360 px viewport: something overflows`);
      for (const name of ["First page", "Previous page", "Next page", "Last page"]) {
        const box = await page.getByRole("button", { name }).first().boundingBox();
        check(box && box.x >= 0 && box.x + box.width <= 360, `the "${name}" button sticks out of a narrow screen`);
      }
      // Keyboard: Enter on the bottom "Next page" moves on and puts the focus
      // on the top one, at the start of the new page.
      const before = await pageRange(page);
      await page.getByRole("button", { name: "Next page" }).last().focus();
      await page.keyboard.press("Enter");
      await until("Enter on Next page did not change the page", async () => (await pageRange(page)) !== before);
      const focused = await page.evaluate(() => {
        const a = document.activeElement;
        return a && a.closest("#pager-top") ? a.getAttribute("aria-label") : null;
      });
      check(focused === "Next page", `after the bottom Next page the focus is on ${focused}`);
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    currentStep = "the end";
    check(problems.length === 0, problems.join("\n"));
  } finally {
    await browser.close().catch(() => {});
  }
  const worst = phases.reduce((m, p) => (p.longest > m.longest ? p : m), { longest: 0, name: "none" });
  console.log(`longest main-thread task with ${total} nodes: ${worst.longest} ms (in "${worst.name}"); `
    + (maxTaskMs === null ? "no limit (MAX_TASK_MS unset)" : `limit ${maxTaskMs} ms`));
  if (maxTaskMs !== null) {
    const over = phases.filter((p) => p.longest > maxTaskMs);
    check(over.length === 0, "the main thread stalled for over " + maxTaskMs + " ms in: "
      + over.map((p) => `"${p.name}" (${p.longest} ms)`).join(", "));
  }
}

const watchdog = setTimeout(() => {
  console.error(`FAIL in "${currentStep}": the large-fleet test took more than ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

main().then(() => {
  console.log("PASS");
}).catch((e) => {
  const detail = e instanceof Failure ? e.message : (e && e.stack) || String(e);
  console.error(`FAIL in "${currentStep}": ${detail}`);
  if (problems.length) console.error("also:\n" + problems.join("\n"));
  process.exit(1);
});
