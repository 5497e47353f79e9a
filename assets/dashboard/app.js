// The llmlb dashboard: plain JavaScript, no framework, no build step.
//
// It talks only to this origin's /v0 API, with the session token from
// POST /v0/auth/login kept in localStorage. Everything a node reports (names,
// models, tags, notes) is untrusted: it goes into the page as text only
// (textContent), never as markup.
"use strict";

(function () {
  const STORAGE_KEY = "llmlb.session";
  const POLL_MS = 2000;
  const STATUSES = ["pending", "registering", "online", "offline"];
  // Rows in the table at once. A fleet of 10,000 nodes is paged through, so
  // that a poll updates at most this many rows (whose cells change only where
  // their text did) instead of building a table of the whole fleet.
  const PAGE_SIZE = 100;

  // ---------------------------------------------------------------- state

  let session = null; // {token, username, role, expires_at?}
  let nodes = []; // the last GET /v0/nodes reply
  let byId = new Map(); // node id -> node, for `nodes`
  let view = null; // the sorted, filtered list for `nodes`, `filter` and `query`
  let loaded = false; // a reply has arrived since sign-in
  let lastOkAt = 0; // Date.now() of the last successful poll
  let clockOffsetMs = 0; // daemon clock minus browser clock, when they differ
  let generation = 0; // bumped at sign-in and sign-out; stale replies are dropped
  let pollTimer = null;
  let polling = false;
  let pollAgain = false;
  let mutations = 0; // completed admin actions; a list fetched before one is stale
  let troubleKind = null; // what the banner shows, so it is announced once
  let detailSig = null;
  let filter = "all";
  let query = ""; // the search text, trimmed and in lower case
  let page = 0; // from 0
  const busy = new Set(); // "action:id" while a request runs
  const rows = new Map(); // node id -> row record, for the rows on the page
  const spareRows = []; // row records off the page, kept for reuse
  const pagers = []; // the page controls above and below the table
  let detailId = null;
  let detailReturnKey = null;
  let confirmed = null; // what the confirmation dialog's OK button does
  let confirmReturnKey = null;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- helpers

  // Creates an element; `props` may hold className, text, attrs, dataset.
  function el(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      if (props.className) e.className = props.className;
      if (props.text !== undefined && props.text !== null) e.textContent = String(props.text);
      if (props.attrs) {
        for (const [k, v] of Object.entries(props.attrs)) {
          if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : String(v));
        }
      }
      if (props.dataset) Object.assign(e.dataset, props.dataset);
    }
    if (children) {
      for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
      }
    }
    return e;
  }

  function show(e, visible) {
    e.hidden = !visible;
  }

  function now() {
    return Date.now() + clockOffsetMs;
  }

  function parseTime(iso) {
    if (!iso) return null;
    const t = Date.parse(iso);
    return Number.isNaN(t) ? null : t;
  }

  // "12s ago", "5m ago", "3h ago", "2d ago"; "never" without a time.
  function ago(iso) {
    const t = parseTime(iso);
    if (t === null) return iso ? String(iso) : "never";
    const s = Math.floor((now() - t) / 1000);
    if (s < 2) return "just now";
    return duration(s) + " ago";
  }

  // A compact duration: "12s", "4m", "3h 12m", "2d 5h".
  function duration(secs) {
    const s = Math.max(0, Math.floor(secs));
    if (s < 60) return s + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m";
    const h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? h + "h " + (m % 60) + "m" : h + "h";
    const d = Math.floor(h / 24);
    return h % 24 ? d + "d " + (h % 24) + "h" : d + "d";
  }

  // One formatter for all: toLocaleString with options builds a new one at
  // every call, which costs more than the rest of a row's update.
  const DATE_TIME = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const NUMBER = new Intl.NumberFormat();

  function absolute(iso) {
    const t = parseTime(iso);
    if (t === null) return iso ? String(iso) : "—";
    return DATE_TIME.format(t);
  }

  function displayName(n) {
    const custom = typeof n.custom_name === "string" ? n.custom_name.trim() : "";
    return custom || n.machine_name;
  }

  function address(n) {
    const ip = String(n.ip_address || "");
    const host = ip.includes(":") ? "[" + ip + "]" : ip;
    return host + ":" + n.runtime_port;
  }

  function shortModel(model) {
    return String(model).replace(/^\s*NVIDIA\s+/i, "").replace(/^GeForce\s+/i, "").trim() || String(model);
  }

  // "2× RTX 4090" per group of identical GPUs.
  function gpuGroups(n) {
    const devs = Array.isArray(n.gpu_devices) ? n.gpu_devices : [];
    if (devs.length) return devs.map((d) => d.count + "\u00d7 " + shortModel(d.model));
    if (n.gpu_count && n.gpu_model) return [n.gpu_count + "\u00d7 " + shortModel(n.gpu_model)];
    return [];
  }

  function gpuSummary(n) {
    return gpuGroups(n).join(", ") || "—";
  }

  function gpuTitle(n) {
    const devs = Array.isArray(n.gpu_devices) ? n.gpu_devices : [];
    return devs.map((d) => d.count + "\u00d7 " + d.model + (d.memory ? ", " + gib(d.memory) + " each" : "")).join("; ");
  }

  function gib(bytes) {
    const v = Number(bytes) / 1073741824;
    return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " GiB";
  }

  function allModels(n) {
    return [].concat(n.loaded_models || [], n.loaded_embedding_models || []);
  }

  function readiness(n) {
    const r = n.ready_models;
    if (Array.isArray(r) && r.length === 2 && r[0] < r[1]) return r[0] + "/" + r[1] + " ready";
    return "";
  }

  function percent(v) {
    return typeof v === "number" && Number.isFinite(v) ? Math.round(v) + "%" : "—";
  }

  function statusLabel(s) {
    return { pending: "Pending", registering: "Registering", online: "Online", offline: "Offline" }[s] || String(s);
  }

  function isAdmin() {
    return !!session && session.role === "admin";
  }

  // 10000 -> "10,000" (in the browser's language).
  function fmt(v) {
    return NUMBER.format(v);
  }

  // The first 8 characters of an id, as the dashboard and llmlbctl show it.
  function shortId(id) {
    const s = String(id);
    return s.length > 8 ? s.slice(0, 8) + "\u2026" : s;
  }

  // The other nodes with the same machine name and runtime port (sent by
  // the daemon as `same_machine_name_as`; absent in older daemons).
  function sameMachineAs(n) {
    const ids = n.same_machine_name_as;
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string" && id) : [];
  }

  // "same machine name as 3f2a1b2c…, 9d8e7f6a…" (the first three, then a count).
  function sameMachineText(ids, what) {
    const shown = ids.slice(0, 3).map(shortId).join(", ");
    return (what || "same machine name") + " as " + shown + (ids.length > 3 ? " and " + (ids.length - 3) + " more" : "");
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  class Unreachable extends Error {}

  // Calls the daemon. Throws Unreachable when fetch fails, ApiError on a
  // non-2xx reply (with the daemon's sentence), returns the parsed body.
  async function api(method, path, body, opts) {
    const useAuth = !(opts && opts.noAuth);
    const headers = { Accept: "application/json" };
    if (useAuth && session) headers.Authorization = "Bearer " + session.token;
    const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new Unreachable(e && e.message ? e.message : "network error");
    }
    noteClock(resp);
    const text = await resp.text().catch(() => "");
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!resp.ok) {
      const msg = data && typeof data.error === "string" && data.error
        ? data.error
        : "the daemon answered HTTP " + resp.status;
      const code = data && typeof data.code === "string" ? data.code : "http_" + resp.status;
      throw new ApiError(resp.status, code, msg);
    }
    return data;
  }

  // Relative times are computed on the daemon's clock when the browser's
  // clock is off by more than a couple of seconds.
  function noteClock(resp) {
    const date = Date.parse(resp.headers.get("Date") || "");
    if (Number.isNaN(date)) return;
    const offset = date + 500 - Date.now();
    clockOffsetMs = Math.abs(offset) > 2500 ? offset : 0;
  }

  // ---------------------------------------------------------------- session

  function loadSession() {
    let s = null;
    try {
      s = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    } catch (e) {
      s = null;
    }
    if (!s || typeof s.token !== "string" || !s.token || typeof s.role !== "string") return null;
    return { token: s.token, role: s.role, username: String(s.username || s.role), expires_at: s.expires_at || null };
  }

  function saveSession(s) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    } catch (e) {
      // Private mode without storage: the session lasts until the reload.
    }
  }

  function forgetSession() {
    try {
      localStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      // nothing to forget
    }
  }

  function expired(s) {
    const t = parseTime(s.expires_at);
    return t !== null && t <= Date.now();
  }

  // Back to the login form, with a message ("info" or "error").
  function showLogin(message) {
    generation += 1;
    stopPolling();
    polling = false;
    pollAgain = false;
    session = null;
    loaded = false;
    setNodes([]);
    page = 0;
    clearRows();
    closeDialogs();
    closePanels();
    show($("admin-tools"), false);
    show($("nodes-view"), false);
    show($("user-box"), false);
    show($("pending-count"), false);
    setTrouble(null);
    hideNotices();
    document.title = "llmlb — sign in";
    const info = $("login-info");
    info.textContent = message || "";
    show($("login-error"), false);
    show($("login-view"), true);
    const user = $("login-username");
    const pass = $("login-password");
    pass.value = "";
    (user.value ? pass : user).focus();
  }

  function sessionExpired() {
    forgetSession();
    showLogin("Your session has ended (it expired or was signed out elsewhere). Please sign in again.");
  }

  function showDashboard() {
    generation += 1;
    polling = false;
    pollAgain = false;
    show($("login-view"), false);
    $("user-name").textContent = session.username;
    $("user-role").textContent = session.role;
    show($("user-box"), true);
    show($("actions-heading"), isAdmin());
    // Join tokens and the audit trail are for admins: a viewer gets 403 there.
    closePanels();
    show($("admin-tools"), isAdmin());
    $("nodes-table").classList.toggle("no-actions", !isAdmin());
    show($("nodes-view"), true);
    $("summary").textContent = "Loading nodes…";
    show($("empty"), false);
    document.title = "llmlb";
    startPolling();
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    const err = $("login-error");
    show(err, false);
    if (!username || !password) {
      err.textContent = "Enter your username and password.";
      show(err, true);
      (username ? $("login-password") : $("login-username")).focus();
      return;
    }
    const button = $("login-submit");
    button.disabled = true;
    button.textContent = "Signing in…";
    try {
      const r = await api("POST", "/v0/auth/login", { username, password }, { noAuth: true });
      session = { token: r.token, username: r.username, role: r.role, expires_at: r.expires_at };
      saveSession(session);
      $("login-password").value = "";
      $("login-info").textContent = "";
      showDashboard();
      $("nodes-heading").focus();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        err.textContent = "Wrong username or password. Please try again.";
      } else if (e instanceof ApiError && e.status === 429) {
        err.textContent = "Too many attempts: " + e.message;
      } else if (e instanceof ApiError) {
        err.textContent = "Sign-in failed: " + e.message;
      } else {
        err.textContent = "Cannot reach the llmlb daemon. Check that llmlbd is running, then try again.";
      }
      show(err, true);
      $("login-password").value = "";
      $("login-password").focus();
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  }

  async function onLogout() {
    const s = session;
    forgetSession();
    showLogin("You have signed out.");
    if (s && s.token.startsWith("llmlb_st_")) {
      // Ends the session on the daemon too; the page is signed out either way.
      try {
        await fetch("/v0/auth/logout", {
          method: "POST",
          headers: { Authorization: "Bearer " + s.token },
          cache: "no-store",
          credentials: "omit",
        });
      } catch (e) {
        // The token is forgotten here; the daemon expires it on its own.
      }
    }
  }

  // ---------------------------------------------------------------- polling

  function startPolling() {
    stopPolling();
    poll();
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function refreshNow() {
    if (polling) {
      pollAgain = true;
    } else {
      stopPolling();
      poll();
    }
  }

  async function poll() {
    if (!session) return;
    const gen = generation;
    const seenMutations = mutations;
    polling = true;
    pollTimer = null;
    pollPanels();
    try {
      // The one cost of a poll that grows with the fleet: the reply is about
      // 1 KB a node, so 10,000 nodes are one JSON.parse of some 10 MB (tens
      // of milliseconds). Counting and sorting are a few more; the rows
      // touched are one page's.
      const list = await api("GET", "/v0/nodes");
      if (gen !== generation) return;
      if (seenMutations !== mutations) {
        // An action finished while this list was on its way: fetch again.
        pollAgain = true;
        return;
      }
      setNodes(Array.isArray(list) ? list : []);
      loaded = true;
      lastOkAt = Date.now();
      setTrouble(null);
      render();
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      if (e instanceof ApiError && e.status === 403) {
        forgetSession();
        showLogin("This account may not view the fleet: " + e.message);
        return;
      }
      setTrouble(e);
      if (loaded) render();
    } finally {
      if (gen === generation) {
        polling = false;
        if (session) {
          const delay = pollAgain ? 0 : POLL_MS;
          pollAgain = false;
          pollTimer = setTimeout(poll, delay);
        }
      }
    }
  }

  // The banner for an unreachable or failing daemon; null clears it.
  function setTrouble(e) {
    const banner = $("unreachable");
    const detail = $("unreachable-detail");
    const title = banner.querySelector("strong");
    if (!e) {
      troubleKind = null;
      show(banner, false);
      $("nodes-view").classList.remove("stale");
      return;
    }
    // The banner is an alert: its text changes only when the trouble does,
    // so that a screen reader announces it once, not at every retry.
    const kind = e instanceof Unreachable ? "unreachable" : "error:" + e.message;
    if (kind === troubleKind) return;
    troubleKind = kind;
    if (e instanceof Unreachable) {
      title.textContent = "Cannot reach the llmlb daemon.";
      detail.textContent = "Retrying every few seconds; this page catches up by itself when the daemon is back."
        + (lastOkAt ? " The list below is from " + new Date(lastOkAt).toLocaleTimeString() + "." : "");
    } else {
      title.textContent = "The daemon could not list the nodes.";
      detail.textContent = e.message + ". Retrying every few seconds.";
    }
    $("nodes-view").classList.toggle("stale", loaded);
    show(banner, true);
  }

  // ---------------------------------------------------------------- rendering

  function setNodes(list) {
    nodes = list;
    byId = new Map();
    for (const n of list) byId.set(n.id, n);
    view = null;
  }

  // The search box's text as it is matched: trimmed, in lower case, without
  // the ellipsis of a short id copied from the page ("3f2a1b2c…").
  function searchText(v) {
    return String(v).trim().toLowerCase().replace(/\u2026$/, "");
  }

  // What the search box matches: names, id, address and tags, in lower case.
  // Kept per node object, so a reply's nodes are joined at most once.
  const haystacks = new WeakMap();
  function haystack(n) {
    let h = haystacks.get(n);
    if (h === undefined) {
      const tags = Array.isArray(n.tags) ? n.tags : [];
      h = [displayName(n), n.machine_name, n.id, address(n)].concat(tags).join("\n").toLowerCase();
      haystacks.set(n, h);
    }
    return h;
  }

  // The list the table pages through: pending nodes first, then by name and
  // id; only the chosen status and what matches the search. Sorted once per
  // reply, filter or search (with each node's key computed once, 10,000
  // nodes sort in a few milliseconds), not at every render.
  function viewList() {
    if (view && view.nodes === nodes && view.filter === filter && view.query === query) return view.list;
    const keyed = [];
    for (const n of nodes) {
      if (filter !== "all" && n.status !== filter) continue;
      if (query && !haystack(n).includes(query)) continue;
      keyed.push({ n, pending: n.status === "pending" ? 0 : 1, name: String(displayName(n)).toLowerCase(), id: String(n.id) });
    }
    keyed.sort((a, b) => {
      if (a.pending !== b.pending) return a.pending - b.pending;
      if (a.name !== b.name) return a.name < b.name ? -1 : 1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    const list = keyed.map((k) => k.n);
    view = { nodes, filter, query, list };
    return list;
  }

  function pageCount(total) {
    return Math.max(1, Math.ceil(total / PAGE_SIZE));
  }

  function counts() {
    const c = { pending: 0, registering: 0, online: 0, offline: 0 };
    for (const n of nodes) if (n.status in c) c[n.status] += 1;
    return c;
  }

  // What has focus, as a key that survives re-rendering ("approve:<id>").
  function focusKey() {
    const a = document.activeElement;
    return a && a.dataset && a.dataset.focusKey ? a.dataset.focusKey : null;
  }

  // The position on the page of the row that has focus, or -1.
  function focusedRowIndex() {
    const a = document.activeElement;
    const tr = a && a.closest ? a.closest("#nodes-body > tr") : null;
    return tr ? Array.prototype.indexOf.call(tr.parentNode.children, tr) : -1;
  }

  function restoreFocus(key, rowIndex) {
    if (!key) return;
    const a = document.activeElement;
    if (a && a !== document.body && a.isConnected) {
      if (a.dataset && a.dataset.focusKey === key) return;
      if (!a.closest || !a.closest("#nodes-body")) return;
    }
    for (const e of document.querySelectorAll("[data-focus-key]")) {
      if (e.dataset.focusKey === key && !e.hidden) {
        e.focus({ preventScroll: true });
        return;
      }
    }
    // The control went away (an approved node has no Approve button): its
    // row's name takes the focus; when the row itself left the page (the
    // approved node sorts elsewhere, it was removed), the name in the row
    // that took its place, so the keyboard stays in the list; else the heading.
    const id = key.slice(key.indexOf(":") + 1);
    const rec = rows.get(id);
    if (rec && rec.tr.isConnected) {
      rec.nameButton.focus({ preventScroll: true });
      return;
    }
    const body = $("nodes-body");
    if (rowIndex !== undefined && rowIndex >= 0 && body.children.length) {
      const tr = body.children[Math.min(rowIndex, body.children.length - 1)];
      const other = rows.get(tr.dataset.nodeId);
      if (other) {
        other.nameButton.focus({ preventScroll: true });
        return;
      }
    }
    $("nodes-heading").focus({ preventScroll: true });
  }

  // Renders the header counts, the summary and the current page of the list.
  // Its cost depends on the page, not on the fleet: the whole fleet is only
  // counted, and sorted when the list changed.
  function render() {
    const key = focusKey();
    const keyRow = focusedRowIndex();
    const c = counts();

    const pc = $("pending-count");
    pc.textContent = c.pending === 1 ? "1 pending" : fmt(c.pending) + " pending";
    pc.setAttribute("aria-label", c.pending === 1
      ? "1 node waits for approval"
      : fmt(c.pending) + " nodes wait for approval");
    show(pc, c.pending > 0);
    document.title = c.pending > 0 ? "(" + fmt(c.pending) + " pending) llmlb" : "llmlb";

    const parts = STATUSES.filter((s) => c[s] > 0).map((s) => fmt(c[s]) + " " + s);
    const total = nodes.length;
    $("summary").textContent = (total === 1 ? "1 node" : fmt(total) + " nodes")
      + (parts.length ? " (" + parts.join(", ") + ")" : "")
      + (lastOkAt ? " · updated " + new Date(lastOkAt).toLocaleTimeString() : "");

    const list = viewList();
    const pages = pageCount(list.length);
    if (page > pages - 1) page = pages - 1;
    const start = page * PAGE_SIZE;
    const shown = list.slice(start, start + PAGE_SIZE);
    const body = $("nodes-body");
    // Rows of nodes that left the page are reused, in order, for the nodes
    // that came onto it (and rows left over wait, detached, for a longer
    // list): a new page, filter or search rewrites only the cells whose text
    // differs, instead of building a hundred rows from scratch.
    const keep = new Set(shown.map((n) => n.id));
    const spare = [];
    for (const tr of body.children) {
      const id = tr.dataset.nodeId;
      if (!keep.has(id) && rows.has(id)) {
        spare.push(rows.get(id));
        rows.delete(id);
      }
    }
    shown.forEach((n, i) => {
      let rec = rows.get(n.id);
      if (!rec) {
        const old = spare.length ? spare.shift() : spareRows.pop();
        rec = old ? rekeyRow(old, n.id) : makeRow(n.id);
        rows.set(n.id, rec);
      }
      updateRow(rec, n);
      const at = body.children[i];
      if (at !== rec.tr) body.insertBefore(rec.tr, at || null);
    });
    for (const rec of spare) {
      rec.tr.remove();
      if (spareRows.length < PAGE_SIZE) spareRows.push(rec);
    }
    while (body.children.length > shown.length) body.lastElementChild.remove();
    renderPagers(list.length, start, shown.length);

    const empty = $("empty");
    if (!loaded) {
      show(empty, false);
    } else if (total === 0) {
      empty.textContent = "No nodes yet. A machine appears here as soon as llmlb-node registers it, and waits for approval.";
      show(empty, true);
    } else if (shown.length === 0 && query) {
      empty.textContent = "No " + (filter === "all" ? "" : filter + " ") + "node matches \u201c"
        + $("search").value.trim() + "\u201d.";
      show(empty, true);
    } else if (shown.length === 0) {
      empty.textContent = filter === "pending"
        ? "No node is waiting for approval."
        : "No node is " + filter + " right now.";
      show(empty, true);
    } else {
      show(empty, false);
    }
    show($("table-wrap"), shown.length > 0 || !loaded);

    restoreFocus(key, keyRow);
    if (detailId) renderDetail();
  }

  // "Nodes 101–200 of 10,000 · page 2 of 100", and the buttons' states.
  // The controls show only when the list has more than one page.
  function renderPagers(total, start, count) {
    const pages = pageCount(total);
    const text = count
      ? "Nodes " + fmt(start + 1) + "\u2013" + fmt(start + count) + " of " + fmt(total)
        + " \u00b7 page " + fmt(page + 1) + " of " + fmt(pages)
      : "";
    const atStart = page === 0;
    const atEnd = page >= pages - 1;
    for (const p of pagers) {
      show(p.nav, pages > 1);
      if (p.range.textContent !== text) p.range.textContent = text;
      for (const [what, off] of [["first", atStart], ["prev", atStart], ["next", atEnd], ["last", atEnd]]) {
        const b = p.buttons[what];
        // aria-disabled, not disabled: a button at the end keeps the focus.
        if (off) b.setAttribute("aria-disabled", "true");
        else b.removeAttribute("aria-disabled");
      }
    }
  }

  const PAGER_BUTTONS = [
    ["first", "First page", "\u00ab First"],
    ["prev", "Previous page", "\u2039 Previous"],
    ["next", "Next page", "Next \u203a"],
    ["last", "Last page", "Last \u00bb"],
  ];

  function makePager(nav) {
    const range = el("span", { className: "pager-range" });
    const group = el("div", { className: "pager-buttons" });
    const buttons = {};
    for (const [what, label, text] of PAGER_BUTTONS) {
      buttons[what] = el("button", {
        className: "btn btn-small",
        text,
        attrs: { type: "button", "aria-label": label },
        dataset: { page: what },
      });
      group.append(buttons[what]);
    }
    nav.replaceChildren(range, group);
    const pager = { nav, range, buttons };
    nav.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-page]");
      if (!b || b.getAttribute("aria-disabled") === "true") return;
      const pages = pageCount(viewList().length);
      const to = { first: 0, prev: page - 1, next: page + 1, last: pages - 1 }[b.dataset.page];
      goToPage(to);
      // From the controls below the list, on to the top of the new page.
      if (pager !== pagers[0]) pagers[0].buttons[b.dataset.page].focus();
    });
    return pager;
  }

  function goToPage(to) {
    const total = viewList().length;
    const pages = pageCount(total);
    page = Math.min(Math.max(0, to), pages - 1);
    render();
    const start = page * PAGE_SIZE;
    $("pager-status").textContent = "Page " + fmt(page + 1) + " of " + fmt(pages) + ": nodes "
      + fmt(start + 1) + " to " + fmt(Math.min(total, start + PAGE_SIZE)) + " of " + fmt(total) + ".";
  }

  // The list changed its filter or search: back to its first page.
  function listChanged() {
    page = 0;
    $("pager-status").textContent = "";
    render();
  }

  function clearRows() {
    rows.clear();
    spareRows.length = 0;
    $("nodes-body").replaceChildren();
  }

  const COLUMNS = ["Name", "Status", "Address", "GPUs", "Models", "Last seen", "Use", "Actions"];

  function makeRow(id) {
    const tr = el("tr", { dataset: { nodeId: id } });
    const cells = COLUMNS.map((label, i) => {
      const td = el(i === 0 ? "th" : "td", { attrs: { "data-label": label, scope: i === 0 ? "row" : null } });
      td.className = "col-" + label.toLowerCase().replace(/[^a-z]+/g, "-");
      tr.append(td);
      return td;
    });
    const nameButton = el("button", {
      className: "name-btn",
      attrs: { type: "button", "aria-haspopup": "dialog" },
      dataset: { focusKey: "name:" + id, action: "detail", id },
    });
    const machine = el("span", { className: "machine-name" });
    const same = el("span", { className: "same-machine", attrs: { hidden: true } });
    cells[0].append(nameButton, machine, same);
    return { tr, cells, nameButton, machine, same, sameText: "", sig: new Array(COLUMNS.length).fill(null) };
  }

  // Hands a row over to another node. Cells whose content names the node
  // (the action buttons) are rebuilt; the others only when their text differs.
  function rekeyRow(rec, id) {
    rec.tr.dataset.nodeId = id;
    rec.nameButton.dataset.focusKey = "name:" + id;
    rec.nameButton.dataset.id = id;
    rec.sig[7] = null;
    return rec;
  }

  // Sets a cell's content only when its signature changed, so that a
  // refresh leaves untouched cells (and whatever has focus in them) alone.
  function setCell(rec, i, sig, build) {
    if (rec.sig[i] === sig) return;
    rec.sig[i] = sig;
    const td = rec.cells[i];
    td.replaceChildren(el("div", { className: "cell" }, build()));
  }

  function updateRow(rec, n) {
    const name = displayName(n);
    rec.tr.classList.toggle("is-pending", n.status === "pending");
    rec.tr.classList.toggle("is-offline", n.status === "offline");

    if (rec.nameButton.textContent !== name) rec.nameButton.textContent = name;
    rec.nameButton.setAttribute("aria-label", name + ": details");
    const showMachine = name !== n.machine_name;
    rec.machine.textContent = showMachine ? n.machine_name : "";
    show(rec.machine, showMachine);
    // Another node claims the same machine name and port: say so, with both
    // short ids, so that an admin tells them apart before approving one.
    const same = sameMachineAs(n);
    const sameText = same.length ? sameMachineText(same) + "; this one is " + shortId(n.id) : "";
    if (rec.sameText !== sameText) {
      rec.sameText = sameText;
      // Each short id (with its comma) in one piece, however narrow the column.
      const id = (v, after) => el("span", { className: "short-id", text: shortId(v) + (after || "") });
      const shown = same.slice(0, 3);
      const parts = [];
      shown.forEach((v, i) => parts.push(i ? " " : "", id(v, i < shown.length - 1 ? "," : "")));
      if (same.length > 3) parts.push(" and " + (same.length - 3) + " more");
      rec.same.replaceChildren(...(same.length ? ["same machine name as ", ...parts, "; this one is ", id(n.id)] : []));
      if (same.length) rec.same.title = "Other nodes with this machine name and port: " + same.join(", ");
      else rec.same.removeAttribute("title");
    }
    show(rec.same, same.length > 0);

    setCell(rec, 1, n.status + "|" + n.drained, () => {
      const out = [el("span", { className: "badge status-" + n.status, text: statusLabel(n.status) })];
      if (n.drained) out.push(el("span", { className: "badge badge-drained", text: "Drained" }));
      return out;
    });
    setCell(rec, 2, address(n), () => [el("span", { className: "mono", text: address(n) })]);
    setCell(rec, 3, gpuSummary(n) + "|" + gpuTitle(n), () => {
      const groups = gpuGroups(n);
      if (!groups.length) return [el("span", { className: "muted", text: "none" })];
      return groups.map((g) => el("span", { className: "line", text: g, attrs: { title: gpuTitle(n) || null } }));
    });
    const models = allModels(n);
    const ready = readiness(n);
    setCell(rec, 4, models.join("\n") + "|" + ready + "|" + n.initializing, () => {
      if (!models.length) return [el("span", { className: "muted", text: n.initializing ? "loading…" : "none" })];
      const out = models.slice(0, 3).map((m) => el("span", { className: "line model", text: m, attrs: { title: m } }));
      if (models.length > 3) {
        out.push(el("span", { className: "line muted", text: "+" + (models.length - 3) + " more", attrs: { title: models.join(", ") } }));
      }
      if (ready) out.push(el("span", { className: "line muted", text: ready }));
      return out;
    });
    const seen = ago(n.last_seen);
    setCell(rec, 5, seen + "|" + n.last_seen, () => [
      n.last_seen
        ? el("time", { text: seen, attrs: { datetime: n.last_seen, title: absolute(n.last_seen) } })
        : el("span", { className: "muted", text: "never" }),
    ]);
    const use = [["CPU", n.cpu_usage], ["Mem", n.memory_usage], ["GPU", n.gpu_usage]];
    setCell(rec, 6, use.map((u) => percent(u[1])).join("|"), () => [
      el("div", { className: "usage" }, use.map(([label, v]) => usageLine(label, v))),
    ]);

    if (isAdmin()) {
      const sig = [n.status, n.token_age_secs !== null && n.token_age_secs !== undefined,
        busy.has("approve:" + n.id), busy.has("remove:" + n.id), busy.has("rotate:" + n.id), name].join("|");
      setCell(rec, 7, sig, () => actionButtons(n, name));
      show(rec.cells[7], true);
    } else {
      rec.cells[7].replaceChildren();
      rec.sig[7] = null;
      show(rec.cells[7], false);
    }
  }

  function usageLine(label, v) {
    const known = typeof v === "number" && Number.isFinite(v);
    const line = el("div", { className: "usage-line" + (known ? "" : " is-unknown") });
    line.append(el("span", { className: "usage-label", text: label }));
    const meter = el("meter", {
      attrs: {
        min: 0, max: 100, low: 70, high: 90, optimum: 0,
        value: known ? Math.min(100, Math.max(0, v)) : 0,
        "aria-label": label + " use",
        "aria-valuetext": known ? percent(v) : "unknown",
      },
    });
    line.append(meter, el("span", { className: "usage-value", text: percent(v) }));
    return line;
  }

  function actionButtons(n, name) {
    const wrap = el("div", { className: "actions" });
    const button = (action, label, busyLabel, cls, hint) => {
      const running = busy.has(action + ":" + n.id);
      const b = el("button", {
        className: "btn btn-small " + cls,
        text: running ? busyLabel : label,
        attrs: {
          type: "button",
          "aria-label": label + " " + name + (hint ? " (" + hint + ")" : ""),
          "aria-disabled": running ? "true" : null,
        },
        dataset: { action, id: n.id, focusKey: action + ":" + n.id },
      });
      wrap.append(b);
    };
    if (n.status === "pending") button("approve", "Approve", "Approving…", "btn-primary");
    // A pending node is not trusted yet: it is approved or removed, not rotated.
    if (n.status !== "pending" && n.token_age_secs !== null && n.token_age_secs !== undefined) {
      button("rotate", "Rotate token", "Rotating…", "", "the node gets a new token with its next heartbeat");
    }
    button("remove", "Remove", "Removing…", "btn-danger-quiet");
    return [wrap];
  }

  // ---------------------------------------------------------------- actions

  function nodeById(id) {
    return byId.get(id) || null;
  }

  function notice(text) {
    show($("action-error"), false);
    $("notice-text").textContent = text;
    show($("notice"), true);
  }

  function actionError(text) {
    show($("notice"), false);
    $("action-error-text").textContent = text;
    show($("action-error"), true);
  }

  function hideNotices() {
    show($("notice"), false);
    show($("action-error"), false);
  }

  // Runs an admin action: marks its button busy, shows the outcome, applies
  // the reply to the local list at once (no flash of the old state) and
  // refreshes from the daemon.
  async function runAction(action, n, request, success, apply) {
    const key = action + ":" + n.id;
    if (busy.has(key)) return;
    const gen = generation;
    busy.add(key);
    render();
    try {
      const r = await request();
      if (gen !== generation) return;
      mutations += 1;
      if (apply) apply(r);
      notice(success(r));
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      const what = { approve: "approve", remove: "remove", rotate: "rotate the token of" }[action];
      if (e instanceof Unreachable) {
        actionError("Could not " + what + " " + displayName(n) + ": the daemon cannot be reached.");
      } else {
        actionError("Could not " + what + " " + displayName(n) + ": " + e.message);
      }
    } finally {
      busy.delete(key);
      if (gen === generation) {
        render();
        refreshNow();
      }
    }
  }

  function approve(n) {
    const name = displayName(n);
    return runAction("approve", n,
      () => api("POST", "/v0/nodes/" + encodeURIComponent(n.id) + "/approve", {}),
      () => "Approved " + name + ". It receives traffic once it is online.",
      (r) => {
        if (r && r.id === n.id) setNodes(nodes.map((x) => (x.id === r.id ? r : x)));
      });
  }

  function rotate(n) {
    const name = displayName(n);
    return runAction("rotate", n,
      () => api("POST", "/v0/nodes/" + encodeURIComponent(n.id) + "/token/rotate", {}),
      (r) => "Token rotation started for " + name + ": the node receives its new token with its next heartbeat"
        + (r && r.old_token_expires_at ? "; the old token stops working by " + absolute(r.old_token_expires_at) : "")
        + ".");
  }

  function askRemove(n) {
    const name = displayName(n);
    confirmReturnKey = "remove:" + n.id;
    $("confirm-title").textContent = "Remove " + name + "?";
    $("confirm-text").textContent = "Its token is revoked at once and it receives no more traffic. "
      + "If the machine registers again, it waits in pending for a new approval.";
    $("confirm-ok").textContent = "Remove node";
    confirmed = () => runAction("remove", n,
      () => api("DELETE", "/v0/nodes/" + encodeURIComponent(n.id)),
      () => "Removed " + name + " and revoked its token.",
      () => {
        setNodes(nodes.filter((x) => x.id !== n.id));
      });
    const d = $("confirm-dialog");
    d.returnValue = "";
    d.showModal();
    $("confirm-cancel").focus();
  }

  function onConfirmClose() {
    const run = $("confirm-dialog").returnValue === "ok" ? confirmed : null;
    confirmed = null;
    const key = confirmReturnKey;
    confirmReturnKey = null;
    if (run) {
      run();
    }
    restoreFocusAfterDialog(key);
  }

  function restoreFocusAfterDialog(key) {
    if (!key) return;
    const a = document.activeElement;
    if (a && a !== document.body && a.isConnected && !a.closest("dialog")) return;
    for (const e of document.querySelectorAll("[data-focus-key]")) {
      if (e.dataset.focusKey === key) {
        e.focus();
        return;
      }
    }
    restoreFocus(key);
  }

  function onTableClick(ev) {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.getAttribute("aria-disabled") === "true") return;
    const n = nodeById(b.dataset.id);
    if (!n) return;
    switch (b.dataset.action) {
      case "detail":
        openDetail(n.id, b.dataset.focusKey);
        break;
      case "approve":
        if (isAdmin()) approve(n);
        break;
      case "rotate":
        if (isAdmin()) rotate(n);
        break;
      case "remove":
        if (isAdmin()) askRemove(n);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- join tokens (admins)
  //
  // The panel fetches GET /v0/join-tokens when it opens and at every poll
  // while it is open; closed, it costs a poll nothing. The secret of a new
  // token lives only in the read-only field that shows it: it is never kept
  // in a variable, in the list or in storage, and the field is emptied when
  // the panel closes, the user is done with it or the session ends.

  let tokensOpen = false;
  let tokens = null; // the last GET /v0/join-tokens reply (never a secret)
  let tokensSig = null;
  let tokensLoading = false;
  let tokensAgain = false;
  let tokenMutations = 0; // creations and revocations; a list fetched before one is stale
  let creating = false;
  let tokensEpoch = 0; // bumped whenever the panel opens or closes
  const tokenBusy = new Set(); // ids of tokens being revoked

  const TOKEN_COLUMNS = ["Name", "Created", "Expires", "Uses left", "Tags", "Auto-approve", "Last used", "Actions"];

  function tokenLabel(t) {
    const name = typeof t.name === "string" ? t.name.trim() : "";
    return name ? name + " (" + t.id + ")" : String(t.id);
  }

  // "expired", "used-up" or "active", on the daemon's clock.
  function tokenState(t, at) {
    const exp = parseTime(t.expires_at);
    if (exp !== null && exp <= at) return "expired";
    if (t.uses_left === 0) return "used-up";
    return "active";
  }

  function setToggle(which, open) {
    $(which + "-toggle").setAttribute("aria-expanded", open ? "true" : "false");
    show($(which + "-panel"), open);
  }

  function openTokens() {
    if (!isAdmin()) return;
    tokensOpen = true;
    tokensEpoch += 1;
    tokens = null;
    tokensSig = null;
    show($("token-list-error"), false);
    show($("token-notice"), false);
    show($("tokens-table"), false);
    $("token-list-status").textContent = "Loading join tokens…";
    setToggle("tokens", true);
    $("tokens-heading").focus();
    refreshTokens();
  }

  function closeTokens() {
    tokensOpen = false;
    tokensEpoch += 1;
    forgetSecret();
    tokens = null;
    tokensSig = null;
    tokenBusy.clear();
    $("tokens-body").replaceChildren();
    show($("token-form-error"), false);
    setToggle("tokens", false);
  }

  function forgetSecret() {
    const input = $("token-secret-value");
    input.value = "";
    $("token-copy-status").textContent = "";
    show($("token-secret"), false);
  }

  function tokenNotice(text) {
    show($("token-list-error"), false);
    const n = $("token-notice");
    n.textContent = text;
    show(n, true);
  }

  function tokenError(text) {
    show($("token-notice"), false);
    const n = $("token-list-error");
    n.textContent = text;
    show(n, true);
  }

  function problem(e) {
    return e instanceof Unreachable ? "the daemon cannot be reached" : e.message;
  }

  async function refreshTokens() {
    if (!tokensOpen || !isAdmin()) return;
    if (tokensLoading) {
      tokensAgain = true;
      return;
    }
    const gen = generation;
    const seen = tokenMutations;
    tokensLoading = true;
    try {
      const list = await api("GET", "/v0/join-tokens");
      if (gen !== generation || !tokensOpen) return;
      if (seen !== tokenMutations) {
        tokensAgain = true;
        return;
      }
      tokens = Array.isArray(list) ? list : [];
      show($("token-list-error"), false);
      renderTokens();
    } catch (e) {
      if (gen !== generation || !tokensOpen) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      tokenError("Could not list the join tokens: " + problem(e) + ".");
      if (tokens === null) $("token-list-status").textContent = "";
    } finally {
      if (gen === generation) {
        tokensLoading = false;
        if (tokensAgain) {
          tokensAgain = false;
          refreshTokens();
        }
      }
    }
  }

  function timeCell(iso, text) {
    return el("time", { text, attrs: { datetime: iso, title: absolute(iso) } });
  }

  // The row's cells as [signature text, builder]: the signature holds what
  // is shown, so the table is rebuilt only when something visible changed.
  function tokenCells(t, at) {
    const state = tokenState(t, at);
    const name = typeof t.name === "string" ? t.name.trim() : "";
    const exp = parseTime(t.expires_at);
    let expires;
    if (exp === null) expires = "never";
    else if (exp <= at) expires = "expired " + ago(t.expires_at);
    else expires = "in " + duration((exp - at) / 1000);
    const uses = t.uses_left === null || t.uses_left === undefined ? "unlimited" : fmt(t.uses_left);
    const tags = Array.isArray(t.tags) ? t.tags.map(String) : [];
    const created = ago(t.created_at);
    const used = t.last_used_at ? ago(t.last_used_at) : "never";
    const busyNow = tokenBusy.has(t.id);
    return [
      [name + "|" + t.id + "|" + state, () => {
        const out = [el("span", { className: name ? "token-name" : "token-name muted", text: name || "(no name)" }),
          el("span", { className: "machine-name", text: t.id })];
        if (state === "expired") out.push(el("span", { className: "badge badge-expired", text: "Expired" }));
        if (state === "used-up") out.push(el("span", { className: "badge badge-expired", text: "Used up" }));
        return out;
      }],
      [created + "|" + t.created_at, () => [timeCell(t.created_at, created)]],
      [expires, () => [exp === null ? el("span", { className: "muted", text: "never" }) : timeCell(t.expires_at, expires)]],
      [uses, () => [el("span", { className: "uses-left", text: uses })]],
      [tags.join("\n"), () => [tags.length
        ? el("ul", { className: "tags" }, tags.map((g) => el("li", { className: "tag", text: g })))
        : el("span", { className: "muted", text: "none" })]],
      [String(!!t.auto_approve), () => [t.auto_approve ? "yes: approved at registration" : "no"]],
      [used + "|" + t.last_used_at, () => [t.last_used_at ? timeCell(t.last_used_at, used) : el("span", { className: "muted", text: "never" })]],
      [String(busyNow), () => [el("button", {
        className: "btn btn-small btn-danger-quiet",
        text: busyNow ? "Revoking…" : "Revoke",
        attrs: {
          type: "button",
          "aria-label": "Revoke join token " + tokenLabel(t),
          "aria-disabled": busyNow ? "true" : null,
        },
        dataset: { tokenAction: "revoke", id: t.id, focusKey: "revoke-token:" + t.id },
      })]],
    ];
  }

  function renderTokens() {
    if (!tokensOpen) return;
    if (tokens === null) return;
    const list = tokens;
    const at = now();
    const built = list.map((t) => ({ t, cells: tokenCells(t, at) }));
    const sig = built.map((b) => b.t.id + "=" + b.cells.map((c) => c[0]).join("\u0001")).join("\u0002");
    const status = $("token-list-status");
    if (!list.length) {
      status.textContent = "No join tokens. Create one above to let machines register with it.";
    } else {
      const expired = list.filter((t) => tokenState(t, at) !== "active").length;
      status.textContent = (list.length === 1 ? "1 join token" : fmt(list.length) + " join tokens")
        + (expired ? " (" + fmt(expired) + " expired or used up)" : "") + ".";
    }
    show($("tokens-table"), list.length > 0);
    if (sig === tokensSig) return;
    tokensSig = sig;
    const a = document.activeElement;
    const key = a && a.closest && a.closest("#tokens-body") && a.dataset ? a.dataset.focusKey : null;
    const body = $("tokens-body");
    body.replaceChildren(...built.map(({ t, cells }) => {
      const tr = el("tr", { className: tokenState(t, at) === "active" ? "" : "is-expired", dataset: { tokenId: t.id } });
      cells.forEach(([, build], i) => {
        const label = TOKEN_COLUMNS[i];
        const td = el(i === 0 ? "th" : "td", {
          className: "col-" + label.toLowerCase().replace(/[^a-z]+/g, "-"),
          attrs: { "data-label": label, scope: i === 0 ? "row" : null },
        }, [el("div", { className: "cell" }, build())]);
        tr.append(td);
      });
      return tr;
    }));
    if (key) {
      for (const e of body.querySelectorAll("[data-focus-key]")) {
        if (e.dataset.focusKey === key) {
          e.focus({ preventScroll: true });
          return;
        }
      }
    }
  }

  function tokenFormError(text, field) {
    const err = $("token-form-error");
    err.textContent = text;
    show(err, true);
    if (field) field.focus();
  }

  async function onCreateToken(ev) {
    ev.preventDefault();
    if (creating || !tokensOpen || !isAdmin()) return;
    show($("token-form-error"), false);
    const usesInput = $("token-uses");
    const usesText = usesInput.value.trim();
    const ttl = $("token-ttl").value;
    const body = {
      name: $("token-name").value.trim(),
      tags: $("token-tags").value.split(/[\s,]+/).filter(Boolean),
      auto_approve: $("token-auto").checked,
    };
    if (ttl === "never") body.never_expires = true;
    else body.ttl_secs = Number(ttl);
    if (usesInput.validity.badInput) {
      tokenFormError("Uses must be a whole number of at least 1, or empty for no limit.", usesInput);
      return;
    }
    if (usesText) {
      const uses = Number(usesText);
      if (!Number.isInteger(uses) || uses < 1) {
        tokenFormError("Uses must be a whole number of at least 1, or empty for no limit.", usesInput);
        return;
      }
      body.uses = uses;
    }
    const gen = generation;
    const epoch = tokensEpoch;
    const button = $("token-create");
    creating = true;
    button.setAttribute("aria-disabled", "true");
    button.textContent = "Creating…";
    forgetSecret();
    try {
      const r = await api("POST", "/v0/join-tokens", body);
      // Closed (or reopened) or signed out meanwhile: the secret is dropped,
      // never shown.
      if (gen !== generation || epoch !== tokensEpoch) return;
      tokenMutations += 1;
      const view = {
        id: r.id, name: r.name, created_at: r.created_at, expires_at: r.expires_at, uses_left: r.uses_left,
        tags: r.tags, auto_approve: r.auto_approve, last_used_at: r.last_used_at,
      };
      if (tokens) tokens = tokens.filter((t) => t.id !== view.id).concat([view]);
      else tokens = [view];
      renderTokens();
      const secret = $("token-secret-value");
      secret.value = typeof r.token === "string" ? r.token : "";
      $("token-command").textContent = "llmlb-node --lb-url " + location.origin + " --join-token-file FILE";
      show($("token-secret"), true);
      for (const id of ["token-name", "token-uses", "token-tags"]) $(id).value = "";
      $("token-auto").checked = false;
      $("token-ttl").value = "86400";
      tokenNotice("Created join token " + tokenLabel(view) + ".");
      secret.focus();
      secret.select();
    } catch (e) {
      if (gen !== generation || !tokensOpen) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      tokenFormError("Could not create the join token: " + problem(e) + ".");
    } finally {
      if (gen === generation) {
        creating = false;
        button.removeAttribute("aria-disabled");
        button.textContent = "Create join token";
        refreshTokens();
      }
    }
  }

  async function onCopySecret() {
    const input = $("token-secret-value");
    const status = $("token-copy-status");
    input.focus();
    input.select();
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } else {
        copied = document.execCommand("copy");
      }
    } catch (e) {
      copied = false;
    }
    status.textContent = copied
      ? "Copied to the clipboard."
      : "The browser did not allow copying: the token is selected, press Ctrl+C to copy it.";
  }

  function askRevoke(t) {
    const label = tokenLabel(t);
    confirmReturnKey = "revoke-token:" + t.id;
    $("confirm-title").textContent = "Revoke join token " + label + "?";
    $("confirm-text").textContent = "Machines can no longer register with it. "
      + "Nodes that already registered with it stay as they are.";
    $("confirm-ok").textContent = "Revoke token";
    confirmed = () => revokeToken(t);
    const d = $("confirm-dialog");
    d.returnValue = "";
    d.showModal();
    $("confirm-cancel").focus();
  }

  async function revokeToken(t) {
    if (tokenBusy.has(t.id)) return;
    const gen = generation;
    const label = tokenLabel(t);
    tokenBusy.add(t.id);
    renderTokens();
    try {
      await api("DELETE", "/v0/join-tokens/" + encodeURIComponent(t.id));
      if (gen !== generation) return;
      tokenMutations += 1;
      if (tokens) tokens = tokens.filter((x) => x.id !== t.id);
      tokenNotice("Revoked join token " + label + ": machines can no longer register with it.");
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      if (e instanceof ApiError && e.status === 404) {
        tokenMutations += 1;
        if (tokens) tokens = tokens.filter((x) => x.id !== t.id);
        tokenNotice("Join token " + label + " was already revoked.");
      } else {
        tokenError("Could not revoke join token " + label + ": " + problem(e) + ".");
      }
    } finally {
      tokenBusy.delete(t.id);
      if (gen === generation && tokensOpen) {
        renderTokens();
        // Its button went away with its row: the keyboard goes on from the panel.
        const a = document.activeElement;
        if (!a || a === document.body) $("tokens-heading").focus();
        refreshTokens();
      }
    }
  }

  function onTokensClick(ev) {
    const b = ev.target.closest("button[data-token-action]");
    if (!b || b.getAttribute("aria-disabled") === "true" || !isAdmin()) return;
    const t = (tokens || []).find((x) => x.id === b.dataset.id);
    if (t && b.dataset.tokenAction === "revoke") askRevoke(t);
  }

  // ---------------------------------------------------------------- recent activity (admins)
  //
  // GET /v0/audit?limit=50 when the panel opens and at every poll while it
  // is open. A daemon without the audit trail answers 404: the panel says
  // so instead of showing an error.

  const ACTIVITY_LIMIT = 50;
  let activityOpen = false;
  let activity = null;
  let activitySig = null;
  let activityLoading = false;

  const ACTIVITY_COLUMNS = ["Time", "Actor", "Action", "Target", "Outcome", "Detail"];
  const ACTOR_KINDS = {
    api_key: "API key", user: "user", join_token: "join token", daemon: "the daemon", node: "node", anonymous: "anonymous",
  };

  function openActivity() {
    if (!isAdmin()) return;
    activityOpen = true;
    activity = null;
    activitySig = null;
    show($("activity-error"), false);
    show($("activity-table"), false);
    $("activity-status").textContent = "Loading recent activity…";
    setToggle("activity", true);
    $("activity-heading").focus();
    refreshActivity();
  }

  function closeActivity() {
    activityOpen = false;
    activity = null;
    activitySig = null;
    $("activity-body").replaceChildren();
    setToggle("activity", false);
  }

  async function refreshActivity() {
    if (!activityOpen || !isAdmin() || activityLoading) return;
    const gen = generation;
    activityLoading = true;
    try {
      const list = await api("GET", "/v0/audit?limit=" + ACTIVITY_LIMIT);
      if (gen !== generation || !activityOpen) return;
      activity = Array.isArray(list) ? list : [];
      show($("activity-error"), false);
      renderActivity();
    } catch (e) {
      if (gen !== generation || !activityOpen) return;
      if (e instanceof ApiError && e.status === 401) {
        sessionExpired();
        return;
      }
      if (e instanceof ApiError && e.status === 404) {
        activity = null;
        activitySig = null;
        $("activity-body").replaceChildren();
        show($("activity-table"), false);
        show($("activity-error"), false);
        $("activity-status").textContent = "Activity is not available on this daemon.";
        return;
      }
      const err = $("activity-error");
      err.textContent = "Could not load the recent activity: " + problem(e) + ".";
      show(err, true);
      if (activity === null) $("activity-status").textContent = "";
    } finally {
      if (gen === generation) activityLoading = false;
    }
  }

  function str(v) {
    return v === null || v === undefined ? "" : String(v);
  }

  function activityCells(a) {
    const kind = str(a.actor_kind);
    const kindText = ACTOR_KINDS[kind] || kind || "unknown";
    const who = kind === "daemon" ? "llmlbd" : str(a.actor_name) || str(a.actor_id) || kindText;
    const id = str(a.actor_id);
    const about = [who === kindText ? "" : kindText, a.actor_name && id && id !== who ? shortId(id) : "",
      a.source ? "from " + a.source : ""].filter(Boolean).join(" \u00b7 ");
    const outcome = str(a.outcome);
    const at = ago(a.at);
    return [
      [at + "|" + a.at, () => [a.at ? timeCell(str(a.at), at) : el("span", { className: "muted", text: "—" })]],
      [who + "|" + about, () => [el("span", { className: "line", text: who }),
        about ? el("span", { className: "line muted small", text: about, attrs: { title: id ? kindText + " " + id : null } }) : null]],
      [str(a.action), () => [el("span", { className: "mono", text: str(a.action) })]],
      [str(a.target), () => [a.target ? el("span", { className: "mono break", text: str(a.target) }) : el("span", { className: "muted", text: "—" })]],
      [outcome, () => [el("span", { className: "badge outcome-" + (/^(ok|denied|failed)$/.test(outcome) ? outcome : "other"), text: outcome || "—" })]],
      [str(a.detail), () => [el("span", { className: "break", text: str(a.detail) })]],
    ];
  }

  function renderActivity() {
    if (!activityOpen || activity === null) return;
    const built = activity.map((a) => ({ a, cells: activityCells(a) }));
    const sig = built.map((b) => str(b.a.id) + "=" + b.cells.map((c) => c[0]).join("\u0001")).join("\u0002");
    $("activity-status").textContent = activity.length
      ? "The " + (activity.length === 1 ? "latest event" : fmt(activity.length) + " latest events") + ", newest first."
      : "No activity recorded yet.";
    show($("activity-table"), activity.length > 0);
    if (sig === activitySig) return;
    activitySig = sig;
    $("activity-body").replaceChildren(...built.map(({ a, cells }) => {
      const tr = el("tr", { className: a.outcome === "ok" ? "" : "is-" + str(a.outcome), dataset: { eventId: str(a.id) } });
      cells.forEach(([, build], i) => {
        const label = ACTIVITY_COLUMNS[i];
        tr.append(el(i === 0 ? "th" : "td", {
          className: "col-" + label.toLowerCase(),
          attrs: { "data-label": label, scope: i === 0 ? "row" : null },
        }, [el("div", { className: "cell" }, build())]));
      });
      return tr;
    }));
  }

  // The panels' share of a poll: nothing at all while they are closed.
  function pollPanels() {
    if (tokensOpen) refreshTokens();
    if (activityOpen) refreshActivity();
  }

  function closePanels() {
    if (tokensOpen) closeTokens();
    if (activityOpen) closeActivity();
    tokensLoading = false;
    tokensAgain = false;
    activityLoading = false;
    creating = false;
    const button = $("token-create");
    button.removeAttribute("aria-disabled");
    button.textContent = "Create join token";
  }

  // ---------------------------------------------------------------- detail

  function openDetail(id, returnKey) {
    detailId = id;
    detailSig = null;
    detailReturnKey = returnKey;
    renderDetail();
    const d = $("detail-dialog");
    if (!d.open) d.showModal();
    $("detail-close").focus();
  }

  function section(title, content) {
    return el("section", { className: "detail-section" }, [el("h3", { text: title }), content]);
  }

  function facts(pairs) {
    const dl = el("dl", { className: "facts" });
    for (const [k, v] of pairs) {
      if (v === undefined) continue;
      dl.append(el("dt", { text: k }), el("dd", {}, [v instanceof Node ? v : (v === null || v === "" ? "—" : String(v))]));
    }
    return dl;
  }

  function when(iso, none) {
    if (!iso) return el("span", { className: "muted", text: none || "never" });
    return el("span", {}, [
      el("time", { text: absolute(iso), attrs: { datetime: iso } }),
      el("span", { className: "muted", text: " (" + ago(iso) + ")" }),
    ]);
  }

  // The full ids of the nodes with the same machine name; each opens that
  // node's details.
  function sameMachineList(ids) {
    return el("ul", { className: "plain-list" }, ids.map((id) => el("li", {}, [
      byId.has(id)
        ? el("button", {
          className: "link-btn mono break",
          text: id,
          attrs: { type: "button", "aria-label": "Details of node " + id },
          dataset: { action: "detail", id },
        })
        : el("span", { className: "mono break", text: id }),
    ])));
  }

  function list(items, none) {
    if (!items || !items.length) return el("span", { className: "muted", text: none || "none" });
    return el("ul", { className: "plain-list" }, items.map((t) => el("li", { text: t })));
  }

  function renderDetail() {
    const n = nodeById(detailId);
    const gone = $("detail-gone");
    if (!n) {
      show(gone, true);
      return;
    }
    show(gone, false);
    // Rebuilt only when the node changed (at each heartbeat), so that text
    // selected in the view survives the 2 s refreshes.
    const sig = JSON.stringify(n);
    if (sig === detailSig) return;
    detailSig = sig;
    const name = displayName(n);
    $("detail-title").textContent = name;
    const same = sameMachineAs(n);

    const gpus = (n.gpu_devices || []).map((d) => d.count + "\u00d7 " + d.model
      + (d.memory ? " — " + gib(d.memory) + " each" + (d.count > 1 ? ", " + gib(d.memory * d.count) + " in all" : "") : ""));
    const ready = Array.isArray(n.ready_models) ? n.ready_models[0] + " of " + n.ready_models[1] : null;
    const tokenAge = n.token_age_secs === null || n.token_age_secs === undefined
      ? el("span", { className: "muted", text: "no token (imported or revoked): the machine must register again" })
      : duration(n.token_age_secs);

    const overview = facts([
      ["Status", el("span", { className: "badge status-" + n.status, text: statusLabel(n.status) })],
      ["Machine name", n.machine_name],
      ["Custom name", n.custom_name ? n.custom_name : undefined],
      ["Node id", el("span", { className: "mono break", text: n.id })],
      ["Same machine name as", same.length ? sameMachineList(same) : undefined],
      ["Address", el("span", { className: "mono", text: address(n) })],
      ["Node API port", n.node_api_port],
      ["Runtime", n.runtime_version || "—"],
      ["Supported runtimes", (n.supported_runtimes || []).join(", ") || "—"],
      ["Drained", n.drained ? "yes: no new requests" : "no"],
    ]);
    const gpuFacts = facts([
      ["Devices", list(gpus, "none reported")],
      ["Model name", n.gpu_model_name || undefined],
      ["Compute capability", n.gpu_compute_capability || undefined],
      ["Capability score", n.gpu_capability_score === null ? undefined : n.gpu_capability_score],
    ]);
    const modelFacts = facts([
      ["Loaded", list(n.loaded_models)],
      ["Embedding", list(n.loaded_embedding_models)],
      ["Speech recognition", n.loaded_asr_models && n.loaded_asr_models.length ? list(n.loaded_asr_models) : undefined],
      ["Text to speech", n.loaded_tts_models && n.loaded_tts_models.length ? list(n.loaded_tts_models) : undefined],
      ["Ready", ready || undefined],
      ["Initializing", n.initializing ? "yes" : "no"],
    ]);
    const metricFacts = facts([
      ["CPU", percent(n.cpu_usage)],
      ["Memory", percent(n.memory_usage)],
      ["GPU", percent(n.gpu_usage)],
      ["GPU memory", percent(n.gpu_memory_usage)],
      ["Requests in flight", n.active_requests === null || n.active_requests === undefined ? "—" : n.active_requests],
      ["Average response", typeof n.average_response_time_ms === "number" ? Math.round(n.average_response_time_ms) + " ms" : "—"],
      ["Reported", when(n.metrics_updated_at, "no heartbeat yet")],
    ]);
    const tokenFacts = facts([
      ["Token age", tokenAge],
      ["Rotation", n.token_rotation_pending ? "under way: the node picks up its new token with its next heartbeat" : "none under way"],
    ]);
    const timeFacts = facts([
      ["Registered", when(n.registered_at)],
      ["Approved", when(n.approved_at, "not yet")],
      ["Last seen", when(n.last_seen)],
      ["Online since", when(n.online_since, "not online")],
    ]);
    const tags = (n.tags || []).length
      ? el("ul", { className: "tags" }, n.tags.map((t) => el("li", { className: "tag", text: t })))
      : el("span", { className: "muted", text: "none" });
    const notes = n.notes ? el("p", { className: "notes", text: n.notes }) : el("span", { className: "muted", text: "none" });

    const sameNote = same.length
      ? el("p", {
        className: "same-machine-note",
        text: "This node (" + shortId(n.id) + ") has the "
          + sameMachineText(same, "same machine name and port (" + n.machine_name + ", " + n.runtime_port + ")")
          + ": check which one is the real machine before approving.",
      })
      : null;
    $("detail-body").replaceChildren(
      ...(sameNote ? [sameNote] : []),
      section("Overview", overview),
      section("GPUs", gpuFacts),
      section("Models", modelFacts),
      section("Metrics", metricFacts),
      section("Token", tokenFacts),
      section("Times", timeFacts),
      section("Tags", tags),
      section("Notes", notes),
    );
  }

  function onDetailClose() {
    const key = detailReturnKey;
    detailId = null;
    detailReturnKey = null;
    restoreFocusAfterDialog(key);
  }

  function closeDialogs() {
    for (const id of ["confirm-dialog", "detail-dialog"]) {
      const d = $(id);
      if (d.open) d.close();
    }
    confirmed = null;
    detailId = null;
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("nodes-body").addEventListener("click", onTableClick);
    $("status-filter").addEventListener("change", (ev) => {
      filter = ev.target.value;
      listChanged();
    });
    $("search").addEventListener("input", (ev) => {
      const q = searchText(ev.target.value);
      if (q === query) return;
      query = q;
      listChanged();
    });
    $("pending-count").addEventListener("click", () => {
      filter = "pending";
      $("status-filter").value = "pending";
      listChanged();
      $("status-filter").focus();
    });
    pagers.push(makePager($("pager-top")), makePager($("pager-bottom")));
    $("tokens-toggle").addEventListener("click", () => (tokensOpen ? closeTokens() : openTokens()));
    $("tokens-close").addEventListener("click", () => {
      closeTokens();
      $("tokens-toggle").focus();
    });
    $("token-form").addEventListener("submit", onCreateToken);
    $("token-copy").addEventListener("click", onCopySecret);
    $("token-secret-done").addEventListener("click", () => {
      forgetSecret();
      $("token-name").focus();
    });
    $("tokens-body").addEventListener("click", onTokensClick);
    $("activity-toggle").addEventListener("click", () => (activityOpen ? closeActivity() : openActivity()));
    $("activity-close").addEventListener("click", () => {
      closeActivity();
      $("activity-toggle").focus();
    });
    $("detail-body").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action=detail]");
      if (b && byId.has(b.dataset.id)) openDetail(b.dataset.id, detailReturnKey);
    });
    $("notice-close").addEventListener("click", () => {
      show($("notice"), false);
      $("nodes-heading").focus();
    });
    $("action-error-close").addEventListener("click", () => {
      show($("action-error"), false);
      $("nodes-heading").focus();
    });
    $("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close("cancel"));
    $("confirm-ok").addEventListener("click", () => $("confirm-dialog").close("ok"));
    $("confirm-dialog").addEventListener("close", onConfirmClose);
    $("detail-close").addEventListener("click", () => $("detail-dialog").close());
    $("detail-dialog").addEventListener("close", onDetailClose);
    // A click on the backdrop closes the detail view.
    $("detail-dialog").addEventListener("click", (ev) => {
      if (ev.target === ev.currentTarget) {
        const r = ev.currentTarget.getBoundingClientRect();
        const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
        if (!inside) ev.currentTarget.close();
      }
    });
    // Signing out in another tab signs out here too.
    window.addEventListener("storage", (ev) => {
      if (ev.key === STORAGE_KEY && !ev.newValue && session) showLogin("You were signed out in another tab.");
    });
    // Catch up at once when the tab becomes visible again.
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && session) refreshNow();
    });
    filter = $("status-filter").value || "all";
    query = searchText($("search").value);

    const stored = loadSession();
    if (stored && expired(stored)) {
      forgetSession();
      showLogin("Your session has expired. Please sign in again.");
    } else if (stored) {
      session = stored;
      showDashboard();
    } else {
      showLogin("");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
