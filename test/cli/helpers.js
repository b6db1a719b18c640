'use strict';
// Runs the real `netlink-agent` command (dist/cli/index.js) as a child process.
const http = require('node:http');
const path = require('node:path');
const { slow } = require('../support/kernel');
const { pollUntil } = require('../support/poll');
const { spawn, spawnSync } = require('node:child_process');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'index.js');

/** Runs the command to completion: { code, stdout, stderr }. */
function runCli(args, { timeout = 30000 } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const running = new Set();

/**
 * Starts a long-running command. Returns { child, out, exited, lines(), count(re), waitFor(re, ms, n) } where
 * out.stderr/out.stdout accumulate, exited resolves with { code, signal }.
 */
function startCli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const lines = () => out.stderr.split('\n').filter(Boolean);
  const count = (re) => lines().filter((l) => re.test(l)).length;
  /** Waits for the n-th log line matching re (default: the first). */
  async function waitFor(re, ms = 15000, n = 1) {
    await pollUntil(
      () => {
        if (count(re) >= n) return true;
        if (child.exitCode !== null) throw new Error(`the command exited (${child.exitCode}) before logging ${re}:\n${out.stderr}`);
        return false;
      },
      { ms, every: 25, what: () => `a log line matching ${re}:\n${out.stderr}` },
    );
    return lines().filter((l) => re.test(l))[n - 1];
  }
  return { child, out, exited, lines, count, waitFor };
}

/** Kills whatever startCli started and is still running (after a failed test). */
async function killAll() {
  const waits = [];
  for (const child of running) {
    waits.push(new Promise((r) => child.once('exit', r)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

/** GET (or another method) on an agent's HTTP endpoint on 127.0.0.1: { status, headers, body }. */
function request(port, p, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, timeout: 5000 * slow }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample in Prometheus text format ("name{labels}" exactly as printed). */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

module.exports = { CLI, runCli, startCli, killAll, request, sample };
