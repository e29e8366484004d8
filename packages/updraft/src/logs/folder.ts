/**
 * The logs folder held under [logging] max_total_bytes, counted as the disk counts it (allocated
 * blocks, folders included, as `du` does), not as file sizes: a thousand short logs occupy a thousand
 * blocks. A running total is kept in memory: writers ask for the blocks a piece adds before writing it
 * (`take`), deletions and compression give blocks back. Past 90% of the cap a clean starts (off the
 * event loop: asynchronous file calls, in batches) and deletes the oldest finished task logs down to
 * 80%; a piece that would pass the cap itself is refused (the writer discards it and says so). Each
 * clean re-counts the folder, so the total follows writes by anything else (another process, a
 * service log) at the next clean. Only task logs (under `dag_id=…/`) are ever deleted, and never the
 * log of a try that is still running. See ADR L3.
 */
import { lstat, readdir, rm, rmdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/** The file system's allocation unit assumed for what is about to be written (ext4, xfs: 4 KiB). */
export const BLOCK = 4096;
export const blocksOf = (bytes: number): number => Math.ceil(bytes / BLOCK) * BLOCK;

/** A clean starts past this share of the cap... */
const HIGH_WATER = 0.9;
/** ...and deletes down to this share, so writers are not refused while it runs. */
const LOW_WATER = 0.8;
/** Files deleted per batch before yielding to the event loop. */
const BATCH = 200;
/** Concurrent `lstat` calls while counting. */
const STAT_CONCURRENCY = 64;

/** What a try's log writer needs from the folder: room before it writes. */
export interface DiskBudget {
  /**
   * Asks for `bytes` more disk; false when that would pass the cap (then nothing may be written).
   * `leave`: fail unless that much would still be free after (room kept for a closing marker line).
   */
  take(bytes: number, leave?: number): boolean;
  /** Gives disk back (a file deleted, shrunk or compressed). */
  give(bytes: number): void;
}

export interface CleanOptions {
  /** Task logs last written longer ago go (0: every finished log). */
  retentionDays: number;
  /** Disk use of the whole folder to stay under (0 = no cap). */
  maxTotalBytes: number;
  /** Report only. */
  dryRun?: boolean;
  now?: number;
}

export interface CleanItem {
  path: string;
  /** Disk use (blocks) of the file. */
  bytes: number;
  reason: "retention" | "cap";
}

export interface CleanResult {
  filesDeleted: number;
  bytesFreed: number;
  filesKept: number;
  /** Files kept because their try is running. */
  filesLive: number;
  /** Disk use of the whole folder (blocks, folders and service logs included) before and after. */
  diskBefore: number;
  diskAfter: number;
  /** What was (or, in a dry run, would be) deleted, oldest first. */
  deleted: CleanItem[];
  /** The running tries could not be asked for (database away): nothing was deleted. */
  liveUnknown?: boolean;
}

export interface LogFolderOptions {
  base: string;
  retentionDays: number;
  maxTotalBytes: number;
  /** Logs of tries running anywhere (the database knows); asked at each clean. */
  liveLogs?: () => Promise<Iterable<string>>;
  /** Told what each clean did, and when the cap cannot be held. */
  onClean?: (result: CleanResult, error?: unknown) => void;
  clock?: () => number;
}

export class LogFolder implements DiskBudget {
  readonly #o: LogFolderOptions;
  /** Disk use as last counted plus what writers took since, minus what was given back. */
  #used = 0;
  /** Taken while a count runs: the count may not have seen it. */
  #takenDuringCount = 0;
  #counting = false;
  #cleaning: Promise<CleanResult> | undefined;
  /** Logs open in this process (their tries run here): never deleted. */
  readonly #open = new Map<string, number>();

  constructor(o: LogFolderOptions) {
    this.#o = o;
  }

  get used(): number {
    return this.#used;
  }

  get base(): string {
    return this.#o.base;
  }

  get cap(): number {
    return this.#o.maxTotalBytes;
  }

  take(bytes: number, leave = 0): boolean {
    const cap = this.#o.maxTotalBytes;
    // 1% is kept for what the total does not follow between counts (a folder's own entries growing).
    if (cap > 0 && this.#used + bytes + leave > cap - (leave > 0 ? Math.floor(cap / 100) : 0)) {
      this.#cleanSoon();
      return false;
    }
    this.#used += bytes;
    if (this.#counting) this.#takenDuringCount += bytes;
    if (cap > 0 && this.#used > cap * HIGH_WATER) this.#cleanSoon();
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }

  /** A try's log is being written here: it stays until `closed`. */
  opened(path: string): void {
    this.#open.set(path, (this.#open.get(path) ?? 0) + 1);
  }

  closed(path: string): void {
    const n = (this.#open.get(path) ?? 1) - 1;
    if (n <= 0) this.#open.delete(path);
    else this.#open.set(path, n);
  }

  /**
   * Counts the folder and deletes what retention and the cap say must go. One clean at a time: a call
   * while one runs gets that one's result. A dry run counts and reports, and changes nothing.
   */
  clean(overrides: Partial<CleanOptions> = {}): Promise<CleanResult> {
    if (overrides.dryRun) return this.#clean({ ...this.#options(), ...overrides });
    this.#cleaning ??= this.#clean({ ...this.#options(), ...overrides }).finally(() => {
      this.#cleaning = undefined;
    });
    return this.#cleaning;
  }

  #options(): CleanOptions {
    return { retentionDays: this.#o.retentionDays, maxTotalBytes: this.#o.maxTotalBytes };
  }

  #cleanSoon(): void {
    if (this.#cleaning) return;
    this.clean().then(
      (result) => this.#o.onClean?.(result),
      (error: unknown) => this.#o.onClean?.(emptyResult(this.#used), error),
    );
  }

  async #clean(o: CleanOptions): Promise<CleanResult> {
    const base = this.#o.base;
    if (!o.dryRun) {
      this.#counting = true;
      this.#takenDuringCount = 0;
    }
    try {
      const { total, logs, folders } = await countFolder(base);
      // Which tries still run cannot be known (the database is away): count, but delete nothing.
      const live = await this.#liveSet().catch(() => undefined);
      const isLive = live ? (path: string) => live.has(path) : () => true;
      const plan = planClean({ logs, total, folders, base }, o, isLive, (this.#o.clock ?? Date.now)());
      let disk = total;
      if (!o.dryRun) {
        for (let i = 0; i < plan.deleted.length; i += BATCH) {
          const batch = plan.deleted.slice(i, i + BATCH);
          await Promise.all(batch.map((item) => rm(item.path, { force: true })));
          const freed = batch.reduce((n, item) => n + item.bytes, 0);
          disk -= freed;
          this.give(freed);
        }
        disk -= await removeEmptyFolders(
          base,
          plan.deleted.map((item) => item.path),
          live ?? new Set(),
        );
        // The count plus what writers took while it ran (some of which it may have seen: erring high).
        this.#used = disk + this.#takenDuringCount;
      }
      const diskAfter = o.dryRun ? plan.diskAfter : disk;
      return { ...plan, diskBefore: total, diskAfter, liveUnknown: !live };
    } finally {
      if (!o.dryRun) this.#counting = false;
    }
  }

  async #liveSet(): Promise<Set<string>> {
    const live = new Set<string>();
    const add = (path: string) => {
      // The writer's file, its compressed form and the compression's temporary file.
      for (const p of [path, `${path}.gz`, `${path}.gz.tmp`]) live.add(p);
    };
    for (const path of this.#open.keys()) add(path);
    for (const path of (await this.#o.liveLogs?.()) ?? []) add(path);
    return live;
  }
}

interface LogFile {
  path: string;
  bytes: number;
  mtime: number;
}

/** A folder's own disk use and how many entries it holds (a clean that empties it removes it). */
export interface FolderEntry {
  bytes: number;
  entries: number;
}

/** Disk use of everything under `base` (itself included, as `du -s`), its task logs and its folders. */
export async function countFolder(
  base: string,
): Promise<{ total: number; logs: LogFile[]; folders: Map<string, FolderEntry> }> {
  const logs: LogFile[] = [];
  const folders = new Map<string, FolderEntry>();
  let total = 0;
  let level = [base];
  while (level.length > 0) {
    const next: string[] = [];
    await inBatches(level, async (dir) => {
      const st = await lstat(dir).catch(() => undefined);
      if (!st?.isDirectory()) return;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      total += st.blocks * 512;
      folders.set(dir, { bytes: st.blocks * 512, entries: entries.length });
      for (const e of entries) if (e.isDirectory()) next.push(join(dir, e.name));
      const files = entries.filter((e) => !e.isDirectory()).map((e) => join(dir, e.name));
      await inBatches(files, async (path) => {
        const f = await lstat(path).catch(() => undefined);
        if (!f) return;
        total += f.blocks * 512;
        if (f.isFile() && isTaskLog(base, path)) logs.push({ path, bytes: f.blocks * 512, mtime: f.mtimeMs });
      });
    });
    level = next;
  }
  return { total, logs, folders };
}

async function inBatches<T>(items: T[], each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += STAT_CONCURRENCY)
    await Promise.all(items.slice(i, i + STAT_CONCURRENCY).map(each));
}

/**
 * A task log is a file of Airflow's layout under a `dag_id=` folder (`.log`, `.log.gz`, or a
 * compression's leftover `.gz.tmp`); anything else in the folder (a service's `--log-file`) is not
 * ours to delete.
 */
function isTaskLog(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel.startsWith("dag_id=") && rel.includes(sep) && /\.log(\.gz(\.tmp)?)?$/.test(path);
}

/**
 * Oldest first: everything past retention, then the oldest until the folder is under the low water.
 * A deletion that empties a folder frees the folder's blocks too (it is removed), up to the base.
 */
export function planClean(
  counted: { logs: LogFile[]; total: number; folders: Map<string, FolderEntry>; base: string },
  o: CleanOptions,
  isLive: (path: string) => boolean,
  now: number,
): Omit<CleanResult, "diskBefore"> {
  const cutoff = now - o.retentionDays * 86_400_000;
  const target = o.maxTotalBytes > 0 ? Math.floor(o.maxTotalBytes * LOW_WATER) : Infinity;
  const over = o.maxTotalBytes > 0 && counted.total > o.maxTotalBytes * HIGH_WATER;
  const left = new Map([...counted.folders].map(([dir, f]) => [dir, f.entries]));
  let disk = counted.total;
  const result = { filesDeleted: 0, bytesFreed: 0, filesKept: 0, filesLive: 0, deleted: [] as CleanItem[] };
  for (const f of [...counted.logs].sort((a, b) => a.mtime - b.mtime)) {
    if (isLive(f.path)) {
      result.filesLive++;
      continue;
    }
    const reason = f.mtime < cutoff ? "retention" : over && disk > target ? "cap" : undefined;
    if (!reason) {
      result.filesKept++;
      continue;
    }
    result.deleted.push({ path: f.path, bytes: f.bytes, reason });
    result.filesDeleted++;
    result.bytesFreed += f.bytes;
    disk -= f.bytes;
    // Folders left empty go as well.
    for (
      let dir = dirname(f.path);
      dir !== counted.base && dir.startsWith(counted.base + sep);
      dir = dirname(dir)
    ) {
      const n = (left.get(dir) ?? 1) - 1;
      left.set(dir, n);
      if (n > 0) break;
      disk -= counted.folders.get(dir)?.bytes ?? 0;
    }
  }
  return { ...result, diskAfter: disk };
}

/** Removes the folders the deletions emptied (up to the base); returns the disk they used. */
async function removeEmptyFolders(base: string, deleted: string[], live: Set<string>): Promise<number> {
  const keep = new Set<string>();
  for (const path of live) for (let d = dirname(path); d.startsWith(base); d = dirname(d)) keep.add(d);
  const candidates = new Set<string>();
  for (const path of deleted)
    for (let d = dirname(path); d !== base && d.startsWith(base + sep); d = dirname(d)) candidates.add(d);
  // Deepest first, so a parent is tried after its children.
  let freed = 0;
  for (const dir of [...candidates].sort((a, b) => b.length - a.length)) {
    if (keep.has(dir)) continue;
    const st = await lstat(dir).catch(() => undefined);
    // Not empty (ENOTEMPTY), or gone: either way, nothing to do.
    if (
      st &&
      (await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      freed += st.blocks * 512;
  }
  return freed;
}

function emptyResult(used: number): CleanResult {
  return {
    filesDeleted: 0,
    bytesFreed: 0,
    filesKept: 0,
    filesLive: 0,
    diskBefore: used,
    diskAfter: used,
    deleted: [],
  };
}
