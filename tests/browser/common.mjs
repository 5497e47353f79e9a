// What the browser tests share: failing with a sentence, required
// environment variables, polling until something holds, and starting
// Debian's Chromium the way this machine's closed network needs.

import { chromium } from "playwright-core";
import path from "node:path";

/** A check that failed: reported by its message, without a stack. */
export class Failure extends Error {}

export function check(cond, message) {
  if (!cond) throw new Failure(message);
}

/** The value of an environment variable the script cannot run without. */
export function required(name) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    console.error(`FAIL: the environment variable ${name} is required (see the top of ${path.basename(process.argv[1])})`);
    process.exit(2);
  }
  return v;
}

/** Polls `fn` every 100 ms until it returns something truthy, for `ms`. */
export async function waitUntil(message, fn, ms) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Failure(`${message} (waited ${ms / 1000} s${last instanceof Error ? "; last error: " + last.message : ""})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Headless Chromium with a fresh temporary profile (launch() removes it at
 * the end), without the background traffic this machine's network refuses.
 */
export function launchBrowser(executablePath) {
  return chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
