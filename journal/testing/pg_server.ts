/**
 * A throwaway PostgreSQL server for tests and the bench: `initdb` in a temporary folder (trust auth), then
 * `pg_ctl start` on a free loopback port with its unix socket in that folder. As root (initdb and postgres
 * refuse to run as root) both run as the `postgres` user through `runuser`. Without the binaries it throws:
 * PostgreSQL tests fail loudly, they never skip.
 *
 * @module
 */

/** A running test server. */
export interface PgTestServer {
  /** `postgres://aos@127.0.0.1:PORT/postgres` (trust auth: no password). */
  url: string;
  port: number;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** The same, synchronously (for `unload`). */
  stopSync(): void;
}

const PG_LIB = "/usr/lib/postgresql";

/** The folder holding `initdb` and `pg_ctl`: on PATH, else the newest `/usr/lib/postgresql/N/bin`. */
export function pgBinDir(): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir !== "" && isFile(`${dir}/initdb`) && isFile(`${dir}/pg_ctl`)) return dir;
  }
  const versions: number[] = [];
  try {
    for (const entry of Deno.readDirSync(PG_LIB)) {
      if (/^\d+$/.test(entry.name) && isFile(`${PG_LIB}/${entry.name}/bin/initdb`)) {
        versions.push(Number(entry.name));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const newest = versions.sort((a, b) => b - a)[0];
  if (newest === undefined) {
    throw new Error(
      "PostgreSQL is not installed: no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin " +
        "(apt-get install -y postgresql)",
    );
  }
  return `${PG_LIB}/${newest}/bin`;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function asRoot(): boolean {
  return Deno.uid() === 0;
}

/** Runs a PostgreSQL binary, as the `postgres` user when we are root; throws with its output on failure. */
function runSync(bin: string, args: string[]): void {
  const command = asRoot()
    ? new Deno.Command("runuser", {
      args: ["-u", "postgres", "--", bin, ...args],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" });
  const out = command.outputSync();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${bin} ${args.join(" ")} failed: ${text.trim()}`);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function postgresUid(): { uid: number; gid: number } {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith("postgres:"));
  if (line === undefined) {
    throw new Error("Running as root, but there is no postgres user to run PostgreSQL as");
  }
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** How {@linkcode startPgServer} runs the server. */
export interface PgServerOptions {
  /**
   * Whether the server flushes its WAL to disk (`fsync`); default true. The tests turn it off: they never
   * crash the server, only its clients, so what a commit makes visible is the same, and each commit no
   * longer waits for the disk. The bench keeps it on, to measure what a user's server does.
   */
  fsync?: boolean;
}

const INITDB_ARGS = ["-A", "trust", "-U", "aos", "-E", "UTF8", "--no-locale", "--no-sync"];

/**
 * A cluster `initdb` made once per PostgreSQL build and user (a second of CPU), kept in the temporary
 * folder, for servers to start from a copy of: `aos-pg-template-<build>-<uid>/`. It is built aside and
 * renamed into place, so a half-made one is never used, and two processes building it at once keep one.
 */
function clusterTemplate(bin: string): string {
  const build = Deno.statSync(`${bin}/initdb`).mtime?.getTime() ?? 0;
  const base = Deno.env.get("TMPDIR") ?? "/tmp";
  const template = `${base}/aos-pg-template-${bin.replaceAll("/", "_")}-${build}-${Deno.uid()}`;
  if (isFile(`${template}/PG_VERSION`)) return template;
  const building = Deno.makeTempDirSync({ prefix: "aos-pg-template-build-" });
  if (asRoot()) {
    const { uid, gid } = postgresUid();
    Deno.chownSync(building, uid, gid);
  }
  try {
    runSync(`${bin}/initdb`, ["-D", `${building}/data`, ...INITDB_ARGS]);
    try {
      Deno.renameSync(`${building}/data`, template);
    } catch (error) {
      // Another process put its template there first: use that one.
      if (!isFile(`${template}/PG_VERSION`)) throw error;
    }
  } finally {
    Deno.removeSync(building, { recursive: true });
  }
  return template;
}

/**
 * Starts a fresh server (synchronously: a few hundred milliseconds): a copy of the cluster template (see
 * {@linkcode clusterTemplate}) in a new temporary folder.
 */
export function startPgServer(options: PgServerOptions = {}): PgTestServer {
  const bin = pgBinDir();
  const dir = Deno.makeTempDirSync({ prefix: "aos-pg-" });
  if (asRoot()) {
    const { uid, gid } = postgresUid();
    Deno.chownSync(dir, uid, gid);
  }
  const data = `${dir}/data`;
  const copied = new Deno.Command("cp", { args: ["-a", clusterTemplate(bin), data], stderr: "piped" })
    .outputSync();
  if (!copied.success) {
    throw new Error(`cp of the cluster template failed: ${new TextDecoder().decode(copied.stderr)}`);
  }
  const port = freePort();
  const settings = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200` +
    (options.fsync === false ? " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" : "");
  runSync(`${bin}/pg_ctl`, [
    "-D",
    data,
    "-l",
    `${dir}/server.log`,
    "-o",
    settings,
    "-w",
    "-t",
    "60",
    "start",
  ]);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      runSync(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
  return {
    url: `postgres://aos@127.0.0.1:${port}/postgres`,
    port,
    stop: () => Promise.resolve(stopSync()),
    stopSync,
  };
}

let shared: PgTestServer | undefined;

/**
 * One server for the whole test process, started on first use and stopped when the process unloads (also
 * after failed tests), without fsync (see {@linkcode PgServerOptions}). Every test uses its own world id,
 * so tests sharing it do not collide.
 */
export function sharedPgServer(): PgTestServer {
  if (shared === undefined) {
    shared = startPgServer({ fsync: false });
    const server = shared;
    globalThis.addEventListener("unload", () => server.stopSync());
  }
  return shared;
}
