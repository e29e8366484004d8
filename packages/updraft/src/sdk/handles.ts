/**
 * Handles to tasks (and task groups) added to a DAG, and the ways to connect them:
 * setUpstream/setDownstream, before/after (Airflow's >> and <<), chain and crossDownstream.
 *
 * A handle must never have a `then` property: `await handle` would then call it. Keep it that way
 * when adding methods (a test checks).
 */
import { peekBuilder, type DagBuilder, type GroupNode, type TaskNode } from "./builder.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { groupLeaves, groupRoots, type GroupGraph } from "../core/task-groups.ts";
import { normalizeTriggerRule } from "../core/trigger-rules.ts";
import { assertKnownKeys, bool } from "./options.ts";

/** What dependencies join: a task, or a task group (its roots downstream, its leaves upstream). */
export type Dependable = TaskHandle | TaskGroupHandle;

/** A task or group handle, or a list of them, wherever dependencies are set. */
export type HandleOrList = Dependable | readonly Dependable[];

/** The DAG each handle belongs to; kept off the handle so its public surface stays small. */
const owners = new WeakMap<Dependable, DagBuilder>();

export function builderOf(handle: Dependable): DagBuilder {
  return owners.get(handle)!;
}

export const RETURN_VALUE = "return_value";

/** The task a handle names, in a DAG still being built. */
function nodeOf(handle: TaskHandle, method: string): TaskNode {
  const builder = builderOf(handle);
  builder.assertOpen(handle.taskId);
  const node = builder.nodes.get(handle.taskId);
  if (!node)
    throw definitionError(builder.where(handle.taskId), `${method}(): the task is not part of its DAG`);
  return node;
}

/**
 * What tasks and task groups share: the DAG they belong to and the dependency methods. A group
 * stands for its tasks as Airflow's TaskGroup does: downstream of its leaves, upstream of its roots.
 */
abstract class Linkable {
  /** @internal */
  constructor(builder: DagBuilder) {
    owners.set(this as unknown as Dependable, builder);
  }

  get dagId(): string {
    return builderOf(this as unknown as Dependable).dagId;
  }

  /** Makes every given task (or group) run after this one. */
  setDownstream(...items: HandleOrList[]): void {
    const self = this as unknown as Dependable;
    for (const other of flatten(items, self, "setDownstream")) connect(self, other);
  }

  /** Makes this one run after every given task (or group). */
  setUpstream(...items: HandleOrList[]): void {
    const self = this as unknown as Dependable;
    for (const other of flatten(items, self, "setUpstream")) connect(other, self);
  }

  /** `a.before(b)` is Airflow's `a >> b`; returns `b`, so `a.before(b).before(c)` reads `a >> b >> c`. */
  before<T extends HandleOrList>(other: T): T {
    this.setDownstream(other);
    return other;
  }

  /** `b.after(a)` is Airflow's `b << a`; returns `a`, so `c.after(b).after(a)` reads `c << b << a`. */
  after<T extends HandleOrList>(other: T): T {
    this.setUpstream(other);
    return other;
  }
}

/** A task added to a DAG. Returned by bash() and empty(); XComArg (from TaskFlow calls) is one too. */
export class TaskHandle extends Linkable {
  readonly taskId: string;

  /** @internal Handles are made by task(), bash() and empty(). */
  constructor(builder: DagBuilder, taskId: string) {
    super(builder);
    this.taskId = taskId;
  }

  /** Makes this task a setup (Airflow's as_setup()); returns it. */
  asSetup(): this {
    const node = nodeOf(this, "asSetup");
    if (node.resolved.isTeardown)
      throw definitionError(
        { dagId: this.dagId, taskId: this.taskId },
        "asSetup(): this task is a teardown; a task cannot be both",
      );
    node.resolved.isSetup = true;
    return this;
  }

  /**
   * Makes this task a teardown (Airflow's as_teardown()): its rule becomes all_done_setup_success,
   * and each of `setups` is made a setup and set upstream of it. Returns this task, so
   * `create.before(query).before(drop.asTeardown({ setups: create }))` reads as in Airflow.
   */
  asTeardown(o: { setups?: HandleOrList; onFailureFailDagrun?: boolean } = {}): this {
    const node = nodeOf(this, "asTeardown");
    const where = { dagId: this.dagId, taskId: this.taskId };
    assertKnownKeys(o, ["setups", "onFailureFailDagrun"], "asTeardown() options", where);
    if (node.resolved.isSetup)
      throw definitionError(where, "asTeardown(): this task is a setup; a task cannot be both");
    // Its own rule, not the DAG's default one, would be overridden: refused, as Airflow does.
    const explicit = node.options.triggerRule;
    const inherited = builderOf(this).inheritedArgs(node).triggerRule;
    if (
      explicit !== undefined &&
      explicit !== inherited &&
      normalizeTriggerRule(String(explicit)) !== "all_done_setup_success"
    )
      throw definitionError(
        where,
        `asTeardown(): the task sets triggerRule ${describe(explicit)}; a teardown's rule is all_done_setup_success: remove triggerRule`,
      );
    node.resolved.isTeardown = true;
    node.resolved.triggerRule = "all_done_setup_success";
    node.resolved.onFailureFailDagrun = bool(o.onFailureFailDagrun, "onFailureFailDagrun", where, false);
    const setups = o.setups === undefined ? [] : flatten([o.setups], this, "asTeardown");
    for (const setup of setups) {
      if (!(setup instanceof TaskHandle))
        throw definitionError(where, `asTeardown(): setups must be tasks, got task group "${setup.groupId}"`);
      setup.asSetup();
      connect(setup, this);
    }
    return this;
  }

  /** This task's XCom under `key` (default "return_value"), e.g. `run.xcom<string>()`; `unknown` unless typed. */
  xcom<T = unknown>(key: string = RETURN_VALUE): XComArg<NoInfer<T>> {
    return new XComArg<T>(builderOf(this), this.taskId, checkKey(key, this));
  }
}

/**
 * A task's output (an XCom): what calling a TaskFlow task returns. Pass it to another task to
 * use the value at run time (that also makes it an upstream task); it is a TaskHandle too.
 */
export class XComArg<T = unknown> extends TaskHandle {
  /** Type-only marker of the value's type; absent at run time. */
  declare readonly __xcomValueType: T;
  /** The XCom key, "return_value" unless made with key(). */
  readonly xcomKey: string;

  /** @internal */
  constructor(builder: DagBuilder, taskId: string, key: string = RETURN_VALUE) {
    super(builder, taskId);
    this.xcomKey = key;
  }

  /**
   * The same task's XCom under another key, e.g. `report.key<number>("row_count")`. Its type is
   * `unknown` unless given: it is never guessed from where the handle is passed.
   */
  key<U = unknown>(name: string): XComArg<NoInfer<U>> {
    return new XComArg<U>(builderOf(this), this.taskId, checkKey(name, this));
  }
}

function checkKey(key: unknown, handle: TaskHandle): string {
  if (typeof key !== "string" || key === "") {
    throw definitionError(
      { dagId: handle.dagId, taskId: handle.taskId },
      `an XCom key must be a non-empty string, got ${describe(key)}: write e.g. key("row_count")`,
    );
  }
  return key;
}

/** Adds the edge upstream -> downstream, both of the same DAG (a group: its leaves -> its roots). */
export function connect(upstream: Dependable, downstream: Dependable): void {
  const up = builderOf(upstream);
  const down = builderOf(downstream);
  if (up !== down) {
    throw definitionError(
      whereOf(downstream),
      `cannot depend on ${nameOf(upstream)} of dag "${up.dagId}": dependencies join tasks of the same DAG only; ` +
        `create the task inside dag "${down.dagId}"'s build function (call its task() factory there)`,
    );
  }
  if (upstream instanceof TaskGroupHandle || downstream instanceof TaskGroupHandle)
    return connectGroup(down, upstream, downstream);
  down.addEdge(upstream.taskId, downstream.taskId);
}

function flatten(items: readonly unknown[], self: Dependable | undefined, method: string): Dependable[] {
  const out: Dependable[] = [];
  for (const item of items) {
    if (Array.isArray(item)) {
      for (const inner of item) out.push(assertHandle(inner, self, method));
    } else {
      out.push(assertHandle(item, self, method));
    }
  }
  return out;
}

export function assertHandle(value: unknown, self: Dependable | undefined, method: string): Dependable {
  if (value instanceof TaskHandle || value instanceof TaskGroupHandle) return value;
  const hint =
    typeof value === "function"
      ? `: this is a task() definition, call it to add the task, e.g. ${method}(${value.name || "extract"}())`
      : "";
  throw definitionError(
    self ? whereOf(self) : { dagId: peekBuilder()?.dagId },
    `${method}() takes task handles or arrays of them, got ${describe(value)}${hint}`,
  );
}

/**
 * Airflow's chain(): connects neighbours left to right. Handle -> handle; handle -> each of a list;
 * each of a list -> handle; list -> list pairwise (the lists must have the same length).
 */
export function chain(...items: HandleOrList[]): void {
  const groups = items.map((item) =>
    Array.isArray(item) ? flatten([item], undefined, "chain") : assertHandle(item, undefined, "chain"),
  );
  for (let i = 0; i + 1 < groups.length; i++) {
    const left = groups[i]!;
    const right = groups[i + 1]!;
    if (Array.isArray(left) && Array.isArray(right)) {
      if (left.length !== right.length) {
        const any = left[0] ?? right[0]!;
        throw definitionError(
          { dagId: any.dagId },
          `chain() cannot connect a list of ${left.length} tasks ${ids(left)} to a list of ${right.length} tasks ${ids(right)}: ` +
            "neighbouring lists are connected pairwise and must have the same length; " +
            "use crossDownstream(from, to) to connect every task of one list to every task of the other",
        );
      }
      left.forEach((up, j) => connect(up, right[j]!));
    } else {
      for (const up of [left].flat()) for (const down of [right].flat()) connect(up, down);
    }
  }
}

/** Airflow's cross_downstream(): every task of `from` runs before every task of `to`. */
export function crossDownstream(from: readonly Dependable[], to: readonly Dependable[]): void {
  const ups = flatten([from], undefined, "crossDownstream");
  const downs = flatten([to], undefined, "crossDownstream");
  for (const up of ups) for (const down of downs) connect(up, down);
}

function ids(handles: readonly Dependable[]): string {
  return `[${handles.map((h) => (h instanceof TaskHandle ? h.taskId : h.groupId)).join(", ")}]`;
}

/**
 * A task group added to a DAG: what calling a taskGroup() factory returns. In dependencies it stands
 * for its tasks as Airflow's TaskGroup does: `group.before(x)` makes x wait for the group's leaves,
 * `x.before(group)` makes the group's roots wait for x. What the group's function returned is
 * `output` (e.g. the output of its last task), to pass on to other tasks.
 */
export class TaskGroupHandle<R = unknown> extends Linkable {
  /** The group's full id ("outer.inner" inside a group that prefixes). */
  readonly groupId: string;
  /** What the group's function returned, as it returned it. */
  readonly output: R;

  /** @internal Made by the factories taskGroup() returns. */
  constructor(builder: DagBuilder, groupId: string, output: R) {
    super(builder);
    this.groupId = groupId;
    this.output = output;
  }

  /** The ids of the group's tasks, inner groups' included, in the order they were added. */
  get taskIds(): string[] {
    const builder = builderOf(this);
    return membersOf(builder, builder.groups.get(this.groupId)!);
  }
}

function whereOf(handle: Dependable): Where {
  return handle instanceof TaskHandle
    ? { dagId: handle.dagId, taskId: handle.taskId }
    : { dagId: handle.dagId, part: `task group "${handle.groupId}"` };
}

function nameOf(handle: Dependable): string {
  return handle instanceof TaskHandle ? `task "${handle.taskId}"` : `task group "${handle.groupId}"`;
}

/**
 * A dependency with a group at one end or both, as Airflow sets it: the group's leaves (upstream) or
 * roots (downstream) as they are now, plus the group-level relation the graph view draws once.
 */
function connectGroup(builder: DagBuilder, upstream: Dependable, downstream: Dependable): void {
  const up = upstream instanceof TaskGroupHandle ? builder.groups.get(upstream.groupId)! : undefined;
  const down = downstream instanceof TaskGroupHandle ? builder.groups.get(downstream.groupId)! : undefined;
  builder.assertOpen(down?.groupId ?? (downstream as TaskHandle).taskId);
  if (up && down) {
    up.downstreamGroupIds.add(down.groupId);
    down.upstreamGroupIds.add(up.groupId);
  } else if (up) up.downstreamTaskIds.add((downstream as TaskHandle).taskId);
  else if (down) down.upstreamTaskIds.add((upstream as TaskHandle).taskId);
  const sources = up ? groupEnd(builder, up, "leaves") : [(upstream as TaskHandle).taskId];
  const targets = down ? groupEnd(builder, down, "roots") : [(downstream as TaskHandle).taskId];
  for (const source of sources) for (const target of targets) builder.addEdge(source, target);
}

/** A group's roots or leaves; an empty group's leaves are what it was set to follow (as in Airflow). */
function groupEnd(builder: DagBuilder, group: GroupNode, end: "roots" | "leaves"): string[] {
  const members = membersOf(builder, group);
  if (members.length === 0) return end === "leaves" ? [...group.upstreamTaskIds] : [];
  return end === "roots"
    ? groupRoots(members, graphOf(builder, members))
    : groupLeaves(members, graphOf(builder, members));
}

function membersOf(builder: DagBuilder, group: GroupNode): string[] {
  return group.children.flatMap((id) => {
    const inner = builder.groups.get(id);
    return inner ? membersOf(builder, inner) : [id];
  });
}

/** The builder's tasks as roots and leaves read them; downstream edges within the members only. */
function graphOf(builder: DagBuilder, members: readonly string[]): GroupGraph {
  const downstream = new Map<string, string[]>();
  for (const id of members)
    for (const up of builder.nodes.get(id)!.upstream) {
      const list = downstream.get(up);
      if (list) list.push(id);
      else downstream.set(up, [id]);
    }
  const node = (id: string) => builder.nodes.get(id);
  return {
    upstream: (id) => node(id)?.upstream ?? [],
    downstream: (id) => downstream.get(id) ?? [],
    isSetup: (id) => node(id)?.resolved.isSetup === true,
    isTeardown: (id) => node(id)?.resolved.isTeardown === true,
  };
}
