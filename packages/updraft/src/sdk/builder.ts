/**
 * The DAG being built: its tasks and edges while `dag()` runs the build function, and the
 * module-level stack that makes `task()`/`bash()`/`empty()` know which DAG they belong to
 * (Airflow's "with DAG(...)" context). Once built, a DAG is sealed: nothing can be added.
 */
import type { SensorSettings } from "../core/serialized.ts";
import type { JsonValue } from "./json.ts";
import type { ResolvedTaskOptions, TaskOptions } from "./options.ts";
import { definitionError, idProblem, MAX_ID_LENGTH, type Where } from "./fail.ts";

/**
 * "task" = a TypeScript function (TaskFlow), "bash" = a shell command, "empty" = does nothing; "http"
 * and "sql" = operators whose function runs in a TaskFlow worker with their rendered fields;
 * "task_bash" = a TypeScript function returning the bash command to run (task.bash).
 */
export type TaskKind =
  | "task"
  | "branch"
  | "short_circuit"
  | "bash"
  | "empty"
  | "latest_only"
  | "sensor"
  | "trigger_dagrun"
  | "external_task_marker"
  | "email"
  | "http"
  | "sql"
  | "task_bash";

export interface TaskNode {
  taskId: string;
  kind: TaskKind;
  /** The TaskFlow function; undefined for other kinds. */
  fn: ((...args: never[]) => unknown) | undefined;
  /** Arguments as passed, XComArg handles included. */
  rawArgs: readonly unknown[];
  /** Arguments as JSON, XComRef objects in place of handles. */
  args: JsonValue[];
  templateFields: Record<string, JsonValue>;
  /** defaultArgs merged with the task's own options, as written. */
  options: TaskOptions;
  resolved: ResolvedTaskOptions;
  upstream: Set<string>;
  /** The task() definition a TaskFlow task came from; repeated calls of it get __1, __2 suffixes. */
  origin: object | undefined;
  /** A TaskFlow task whose result's keys are XComs of their own. */
  multipleOutputs?: boolean;
  /** Where a TaskFlow task runs: a worker of its DAG, or a process of its own per try. */
  isolation?: "dag" | "process";
  /** A mapped task: how its instances get their elements (core/mapping.ts), sources as JSON. */
  expand?: { mode: "list" | "dict" | "kwargs" | "group"; value: JsonValue; group?: string };
  /** The id of the task group the task is directly inside; undefined at the top level. */
  group?: string;
  /** A sensor's settings (sensors.ts). */
  sensor?: SensorSettings;
  /** A TypeScript task's `resume` option: called with the trigger's event after a defer(). */
  resume?: (...args: never[]) => unknown;
}

/** A task group while its DAG is built (Airflow's TaskGroup); see groups.ts. */
export interface GroupNode {
  /** The full id: the label, after "<outer id>." when the enclosing group prefixes. */
  groupId: string;
  parent: GroupNode | undefined;
  /** Whether the ids of what it holds start with "<groupId>.". */
  prefixGroupId: boolean;
  tooltip: string;
  uiColor: string;
  uiFgColor: string;
  /** The DAG's defaultArgs, then each enclosing group's, then its own: what its tasks inherit. */
  defaultArgs: TaskOptions;
  /** Ids of the tasks and groups directly inside, in the order they were added. */
  children: string[];
  /** Dependencies set on the group as a whole, for the graph's join nodes. */
  upstreamGroupIds: Set<string>;
  upstreamTaskIds: Set<string>;
  downstreamGroupIds: Set<string>;
  downstreamTaskIds: Set<string>;
  /** The taskGroup() definition it comes from; calling it again gets __1, __2 suffixes. */
  origin: object;
  /** A mapped group (`group.expand(items)`): its list as JSON, and the tasks whose outputs it names. */
  mapped?: { source: JsonValue; producers: string[] };
}

export class DagBuilder {
  readonly dagId: string;
  readonly nodes = new Map<string, TaskNode>();
  /** The DAG's defaultArgs, already checked; every task's own options override them. */
  defaultArgs: TaskOptions = {};
  sealed = false;
  /** Task groups by full id, outer before inner. */
  readonly groups = new Map<string, GroupNode>();
  /** The group whose body is running: tasks added now go inside it. */
  currentGroup: GroupNode | undefined;

  constructor(dagId: string) {
    this.dagId = dagId;
  }

  where(taskId?: string): Where {
    return { dagId: this.dagId, taskId };
  }

  add(node: TaskNode): void {
    this.assertOpen(node.taskId);
    const existing = this.nodes.get(node.taskId);
    if (existing) {
      throw definitionError(
        this.where(node.taskId),
        `the task id is already used by another task of this DAG (of kind "${existing.kind}"): task ids must be unique within a DAG, rename one of them`,
      );
    }
    if (this.groups.has(node.taskId)) {
      throw definitionError(
        this.where(node.taskId),
        "the task id is already used by a task group of this DAG: task and group ids share one namespace, rename one of them",
      );
    }
    const mapped = this.mappedGroup();
    if (mapped && node.expand)
      throw definitionError(
        this.where(node.taskId),
        `the task is mapped inside the mapped task group "${mapped.groupId}": its tasks already map over the group's list; call the task plainly (mapping inside a mapped group is not supported)`,
      );
    this.nodes.set(node.taskId, node);
    if (this.currentGroup) {
      node.group = this.currentGroup.groupId;
      this.currentGroup.children.push(node.taskId);
    }
    if (mapped) {
      // Every task of a mapped group maps over the group's list, so it waits for what makes the list.
      node.expand = { mode: "group", value: mapped.mapped!.source, group: mapped.groupId };
      for (const producer of mapped.mapped!.producers) node.upstream.add(producer);
    }
  }

  /** The innermost mapped task group being built around the current one, if any. */
  mappedGroup(): GroupNode | undefined {
    for (let g = this.currentGroup; g; g = g.parent) if (g.mapped) return g;
    return undefined;
  }

  /**
   * The id a task or group named `label` gets where the build is now: "<group>.<label>" inside a
   * group that prefixes (Airflow's child_id), else the label itself.
   */
  qualify(label: string): string {
    const group = this.currentGroup;
    const id = group?.prefixGroupId ? `${group.groupId}.${label}` : label;
    if (id.length > MAX_ID_LENGTH) {
      throw definitionError(
        this.where(),
        `the id "${id}" (with its group's prefix) is longer than ${MAX_ID_LENGTH} characters: shorten the task or group id, or set prefixGroupId: false on the group`,
      );
    }
    return id;
  }

  /** The defaultArgs a task inherited: its group's (merged over the DAG's), else the DAG's. */
  inheritedArgs(node: TaskNode): TaskOptions {
    return (
      (node.group === undefined ? undefined : this.groups.get(node.group)?.defaultArgs) ?? this.defaultArgs
    );
  }

  /**
   * The id a TaskFlow call gets: its own id the first time, then `id__1`, `id__2`, ... when the
   * same task() definition is called again (Airflow's behaviour). A different definition or
   * operator already using the id is a duplicate, reported by add().
   */
  taskFlowId(base: string, origin: object): string {
    const existing = this.nodes.get(base);
    if (!existing || existing.origin !== origin) return base;
    const pattern = new RegExp(`^${base.replace(/[.]/g, "\\.")}__(\\d+)$`);
    let highest = 0;
    for (const id of this.nodes.keys()) {
      const m = pattern.exec(id);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
    const id = `${base}__${highest + 1}`;
    if (id.length > MAX_ID_LENGTH) {
      throw definitionError(
        this.where(base),
        `calling this task again would need the id "${id}", longer than ${MAX_ID_LENGTH} characters: give the task a shorter id`,
      );
    }
    return id;
  }

  addEdge(upstream: string, downstream: string): void {
    this.assertOpen(downstream);
    this.nodes.get(downstream)!.upstream.add(upstream);
  }

  assertOpen(taskId: string): void {
    if (this.sealed) {
      throw definitionError(
        this.where(taskId),
        "this DAG is already built: add tasks and set dependencies inside the build function passed to dag()",
      );
    }
  }
}

const building: DagBuilder[] = [];

/** The DAG whose build function is running, or an error naming the call made outside one. */
export function currentBuilder(what: string, taskId: unknown): DagBuilder {
  const builder = building.at(-1);
  if (builder) return builder;
  const where = typeof taskId === "string" && !idProblem(taskId) ? { taskId } : {};
  throw definitionError(
    where,
    `${what} was called outside a dag() build: every task belongs to a DAG, so add tasks inside the build function, e.g. export default dag({ dagId: "my_dag" }, () => { /* add tasks here */ })`,
  );
}

export function peekBuilder(): DagBuilder | undefined {
  return building.at(-1);
}

export function withBuilder<T>(builder: DagBuilder, build: () => T): T {
  building.push(builder);
  try {
    return build();
  } finally {
    building.pop();
  }
}
