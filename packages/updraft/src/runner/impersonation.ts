/**
 * Impersonation (Airflow's `run_as_user` and `[core] default_impersonation`): a task runs as another
 * operating-system user, so that it cannot read the installation's home (0700), `updraft.toml` or a
 * SQLite database (0600), which belong to the user the services run as. See docs/security.md.
 *
 * How: a service running as root starts the task's process with that user's uid and gid (setuid, no
 * supplementary groups); any other service starts it through `sudo -n -E -H -u <user>`, which needs a
 * sudoers rule allowing it without a password (and SETENV, for the task's environment).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { InvalidInputError } from "../core/errors.ts";
import { isUserName } from "../core/serialized.ts";

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** setuid: this process is root. sudo: anything else. */
  via: "setuid" | "sudo";
}

const known = new Map<string, RunAs>();

/** The user a task runs as: its own runAsUser, else `[core] default_impersonation`, else none (""). */
export function impersonatedUser(
  runAsUser: string | null | undefined,
  defaultUser: string,
): string | undefined {
  return runAsUser || defaultUser || undefined;
}

/**
 * Looks the user up (getent: local files, LDAP, whatever NSS knows), once per process, without blocking
 * the scheduler's event loop (a directory service may be slow); throws naming it if unknown.
 */
export async function resolveRunAs(user: string): Promise<RunAs> {
  const hit = known.get(user);
  if (hit) return hit;
  if (!isUserName(user)) throw new InvalidInputError(`run_as_user "${user}" is not a valid user name`);
  let entry: string;
  try {
    entry = (
      await promisify(execFile)("getent", ["passwd", user], { encoding: "utf8", timeout: 5000 })
    ).stdout.trim();
  } catch {
    throw new InvalidInputError(
      `run_as_user "${user}": no such user on this machine (getent passwd ${user} found nothing); create it or change the task's runAsUser / [core] default_impersonation`,
    );
  }
  const [, , uid, gid, , home] = entry.split(":");
  const runAs: RunAs = {
    user,
    uid: Number(uid),
    gid: Number(gid),
    home: home || "/",
    via: process.getuid?.() === 0 ? "setuid" : "sudo",
  };
  known.set(user, runAs);
  return runAs;
}

/** What the impersonated process's environment says about who it is. */
export function identityEnv(runAs: RunAs): Record<string, string> {
  return { HOME: runAs.home, USER: runAs.user, LOGNAME: runAs.user };
}

/** The command and options that start `command args` as `runAs` (or as this process's user). */
export function asUser(
  runAs: RunAs | undefined,
  command: string,
  args: string[],
): { command: string; args: string[]; uid?: number; gid?: number } {
  if (!runAs) return { command, args };
  if (runAs.via === "setuid") return { command, args, uid: runAs.uid, gid: runAs.gid };
  return { command: "sudo", args: ["-n", "-E", "-H", "-u", runAs.user, "--", command, ...args] };
}
