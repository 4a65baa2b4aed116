// azid namespace forwarder. Runs inside the private network + mount namespace that runInNamespace
// (./run.ts) creates, as `node forwarder.mjs <config.json>`. Plain JS with node built-ins only, so it
// starts fast with bare `node`.
//
// 1. Listens on each forward's address:port and pipes every TCP connection to its Unix socket outside.
// 2. Serves DNS on 127.0.0.1:53 (UDP and TCP): A → 127.0.0.1 for the configured names (wildcards
//    included), NODATA for other types of those names, NXDOMAIN for everything else.
// 3. Once every listener is up, runs the command, forwards SIGINT/SIGTERM/SIGHUP to it, and exits with
//    its exit code (128 + signal number when it was killed). Before exiting it kills whatever else is
//    left in the namespace (background processes of the command), so the namespace dies with it.
//
// Exit status 125 means the forwarder itself failed (bad config, a port it cannot listen on).

import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { constants } from 'node:os'
import { isatty } from 'node:tty'
import { pathToFileURL } from 'node:url'

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP']
const DNS_TTL = 60

/** Returns a predicate for the names served: exact names, `*.suffix` wildcards (one or more labels), localhost. */
export function nameMatcher(names) {
  const exact = new Set(['localhost'])
  const suffixes = []
  for (const raw of names) {
    const n = raw.toLowerCase().replace(/\.$/, '')
    if (n.startsWith('*.')) suffixes.push(n.slice(1))
    else exact.add(n)
  }
  return (name) => {
    const n = name.toLowerCase()
    if (exact.has(n)) return true
    for (const s of suffixes) if (n.length > s.length && n.endsWith(s)) return true
    return false
  }
}

/** The DNS response for one query message, or null when it should be dropped (not a query, too short). */
export function dnsResponse(msg, matches) {
  if (msg.length < 12) return null
  const flags = msg.readUInt16BE(2)
  if (flags & 0x8000) return null
  const opcode = (flags >> 11) & 0xf
  const header = (rcode, qdcount, ancount) => {
    const h = Buffer.alloc(12)
    h.writeUInt16BE(msg.readUInt16BE(0), 0)
    // QR, opcode, AA, RD copied, RA, rcode
    h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2)
    h.writeUInt16BE(qdcount, 4)
    h.writeUInt16BE(ancount, 6)
    return h
  }
  if (opcode !== 0) return header(4, 0, 0) // NOTIMP
  if (msg.readUInt16BE(4) !== 1) return header(1, 0, 0) // FORMERR
  const labels = []
  let off = 12
  for (;;) {
    if (off >= msg.length) return header(1, 0, 0)
    const len = msg[off]
    if (len === 0) break
    if (len > 63 || off + 1 + len > msg.length) return header(1, 0, 0)
    labels.push(msg.toString('latin1', off + 1, off + 1 + len))
    off += 1 + len
  }
  off += 1
  if (off + 4 > msg.length) return header(1, 0, 0)
  const qtype = msg.readUInt16BE(off)
  const qclass = msg.readUInt16BE(off + 2)
  const question = msg.subarray(12, off + 4)
  const known = (qclass === 1 || qclass === 255) && matches(labels.join('.'))
  if (!known) return Buffer.concat([header(3, 1, 0), question]) // NXDOMAIN
  if (qtype !== 1 && qtype !== 255) return Buffer.concat([header(0, 1, 0), question]) // NODATA (AAAA, …)
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, DNS_TTL, 0, 4, 127, 0, 0, 1])
  return Buffer.concat([header(0, 1, 1), question, answer])
}

const listenTcp = (server, port, host) =>
  new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject)
      server.on('error', () => {}) // accept errors (EMFILE, …) must not take the namespace down
      resolve(server)
    })
  })

/**
 * Copies `from` to `to` (what `pipe` does, without its per-chunk bookkeeping: this is the path of every request a
 * namespace makes), pausing `from` while `to` drains and passing the end on (half-close).
 */
function relay(from, to) {
  const resume = () => from.resume()
  from.on('data', (chunk) => {
    if (!to.write(chunk)) {
      from.pause()
      to.once('drain', resume)
    }
  })
  from.on('end', () => to.end())
}

function forwardServer(forward) {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    client.setNoDelay(true)
    const upstream = connect({ path: forward.socket, allowHalfOpen: true })
    const destroyBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', destroyBoth)
    upstream.on('error', destroyBoth)
    client.on('close', (hadError) => hadError && upstream.destroy())
    upstream.on('close', (hadError) => hadError && client.destroy())
    relay(client, upstream)
    relay(upstream, client)
  })
  return listenTcp(server, forward.port, forward.address)
}

function dnsUdpServer(matches) {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4')
    sock.once('error', reject)
    sock.on('message', (msg, rinfo) => {
      const res = dnsResponse(msg, matches)
      if (res) sock.send(res, rinfo.port, rinfo.address)
    })
    sock.bind(53, '127.0.0.1', () => {
      sock.off('error', reject)
      sock.on('error', () => {})
      resolve(sock)
    })
  })
}

function dnsTcpServer(matches) {
  const server = createServer((conn) => {
    let buf = Buffer.alloc(0)
    conn.setTimeout(10_000, () => conn.destroy())
    conn.on('error', () => conn.destroy())
    conn.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0)
        if (buf.length < 2 + len) break
        const res = dnsResponse(buf.subarray(2, 2 + len), matches)
        buf = buf.subarray(2 + len)
        if (!res) continue
        const prefix = Buffer.alloc(2)
        prefix.writeUInt16BE(res.length, 0)
        conn.write(Buffer.concat([prefix, res]))
      }
    })
  })
  return listenTcp(server, 53, '127.0.0.1')
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** SIGKILLs every other process in this network namespace, until none is left (or it gives up). */
function sweep(ownNet) {
  for (let round = 0; round < 50; round++) {
    let found = 0
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
      let ns
      try {
        ns = readlinkSync(`/proc/${entry}/ns/net`)
      } catch {
        continue // gone, a zombie, or not ours to look at
      }
      if (ns !== ownNet) continue
      try {
        process.kill(Number(entry), 'SIGKILL')
        found++
      } catch {}
    }
    if (found === 0) return
    sleepSync(10)
  }
}

function die(message) {
  process.stderr.write(`azid-netns: ${message}\n`)
  process.exit(125)
}

async function main() {
  const configPath = process.argv[2]
  if (!configPath) die('usage: forwarder.mjs <config.json>')
  const cfg = JSON.parse(readFileSync(configPath, 'utf8'))
  const ownNet = readlinkSync('/proc/self/ns/net')
  // Safety: never listen on the host's ports or sweep the host's processes.
  if (ownNet === cfg.outerNetns) die('refusing to run outside a private network namespace')

  let child = null
  let pendingSignal = null
  let exiting = false
  const finish = (code) => {
    if (exiting) return
    exiting = true
    sweep(ownNet)
    process.exit(code)
  }
  // On a terminal, Ctrl-C already reaches the command (same foreground process group): do not send it twice.
  const interactive = isatty(0) || isatty(1) || isatty(2)
  for (const sig of FORWARDED_SIGNALS) {
    process.on(sig, () => {
      if (!child) pendingSignal = sig
      else if (!(sig === 'SIGINT' && interactive)) child.kill(sig)
    })
  }
  // If the process that started us dies (its sockets with it), end the command too, and remove the
  // temp dir it can no longer remove.
  if (cfg.parentPid) {
    const watch = setInterval(() => {
      if (process.ppid === cfg.parentPid) return
      clearInterval(watch)
      if (typeof cfg.tempDir === 'string' && /\/azid-netns-[^/]+$/.test(cfg.tempDir))
        rmSync(cfg.tempDir, { recursive: true, force: true })
      if (!child) finish(129)
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 5000).unref()
    }, 500).unref()
  }

  const matches = nameMatcher(cfg.names)
  try {
    await Promise.all([...cfg.forwards.map(forwardServer), dnsUdpServer(matches), dnsTcpServer(matches)])
  } catch (err) {
    die(`cannot listen: ${err.message}`)
  }
  if (pendingSignal) finish(128 + (constants.signals[pendingSignal] ?? 0))

  child = spawn(cfg.command, cfg.args, { env: cfg.env, cwd: cfg.cwd, stdio: 'inherit' })
  child.on('error', (err) => {
    process.stderr.write(`azid-netns: cannot run ${cfg.command}: ${err.message}\n`)
    finish(err.code === 'ENOENT' ? 127 : 126)
  })
  child.on('exit', (code, signal) => finish(code ?? 128 + (constants.signals[signal] ?? 0)))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => die(err?.stack ?? String(err)))
}
