/**
 * The network and clock as lib/ sees them. Espruino's `net`/`tls` sockets and Node's are adapted to this in
 * boards/ and sim/ (they differ: Espruino delivers binary strings and its `write` takes strings).
 *
 * One Transport object serves one client for its whole life: `open()` starts a connection and the transport
 * reports back to the handler given at construction of the adapter, so nothing is allocated per reconnect in
 * lib/.
 */

/** What a transport reports to its owner. */
export interface Link {
  /** The connection is up. */
  up_(): void;
  /** Bytes arrived (a view valid during the call). */
  data_(d: Uint8Array): void;
  /** The connection is gone (closed by either side, failed to open, or errored). Called once per open(). */
  down_(): void;
  /** The transport's write buffer has room again. */
  drain_(): void;
}

export interface Transport {
  /** Opens a connection to host:port; reports through `link`. */
  open(host: string, port: number, link: Link): void;
  /**
   * Writes `b[s..e)` whole (the transport copies it or sends it before returning). The caller has checked
   * `room()`; a transport over its bound may end the connection rather than grow.
   */
  write(b: Uint8Array, s: number, e: number): void;
  /** Bytes the bounded write buffer still accepts. */
  room(): number;
  /** Closes the connection (after queued bytes are sent); `down_` follows. */
  close(): void;
}

/** Injected time (STYLE.md rule 10): milliseconds, and one-shot timers. */
export interface Clock {
  now(): number;
  after(ms: number, fn: () => void): unknown;
  cancel(h: unknown): void;
}

/**
 * One accepted connection, as a server (the broker) sees it: the same write/room/close contract as a
 * Transport, without open(). The host (Node `net`/`tls`/WebSocket listeners in sim/, Espruino's
 * `net.createServer` in boards/) hands each new connection to the server, which answers with the Link the
 * connection reports to (`up_` is not called: an accepted connection is already up).
 */
export interface Conn {
  /** Writes `b[s..e)` whole (copied or sent before returning); the caller has checked `room()`. */
  write(b: Uint8Array, s: number, e: number): void;
  /** Bytes the connection's bounded write buffer still accepts. */
  room(): number;
  /** Closes (after queued bytes are sent); `down_` follows once. */
  close(): void;
}

/** What accepts connections: a host calls `accept` for each, and the returned Link gets that connection's events. */
export type Accept = (c: Conn) => Link;
