/**
 * Pools with their used slots (running, queued, scheduled, deferred) as a small bar; everyone reads
 * them (they explain why tasks wait), Op and Admin change them. default_pool cannot be deleted: the
 * server says so and the page shows its answer.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../../api.ts";
import type { components } from "../../../../updraft/src/api/generated/airflow-v2.ts";
import { stateColor } from "../../components/StateBadge.tsx";
import {
  ConfirmDelete,
  Failure,
  FormDialog,
  ListFooter,
  mayEditPools,
  RowActions,
  useListState,
} from "./common.tsx";

type Pool = components["schemas"]["PoolResponse"];
type Editing = { mode: "new" } | { mode: "edit"; pool: Pool } | null;

const USED = [
  { key: "running_slots", state: "running", label: "running" },
  { key: "queued_slots", state: "queued", label: "queued" },
  { key: "scheduled_slots", state: "scheduled", label: "scheduled" },
  { key: "deferred_slots", state: "deferred", label: "deferred" },
] as const;

export function PoolsSection() {
  const { update, limit, offset, search, role } = useListState();
  const canEdit = mayEditPools(role);
  const queries = useQueryClient();
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["pools", search, offset, limit],
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
    queryFn: async () =>
      must(
        await api.GET("/api/v2/pools", {
          params: {
            query: { limit, offset, order_by: ["pool"], ...(search ? { pool_name_pattern: search } : {}) },
          },
        }),
      ),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ["pools"] });
  return (
    <>
      <div className="toolbar">
        <h1>Pools</h1>
        <input
          type="search"
          aria-label="Search pool names"
          placeholder="Search names"
          defaultValue={search}
          onChange={(e) => update({ search: e.target.value, offset: null }, { replace: true })}
        />
        <span className="spacer" />
        {canEdit && (
          <button className="primary" onClick={() => setEditing({ mode: "new" })}>
            Add pool
          </button>
        )}
      </div>
      <Failure what="Could not list the pools" error={list.error} />
      <table aria-label="Pools">
        <thead>
          <tr>
            <th>Pool</th>
            <th>Slots</th>
            <th>Open</th>
            <th>Running</th>
            <th>Queued</th>
            <th>Scheduled</th>
            <th>Deferred</th>
            <th>Usage</th>
            {canEdit && (
              <th>
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {list.data?.pools.map((p) => (
            <tr key={p.name} aria-label={`Pool ${p.name}`}>
              <td>
                <strong>{p.name}</strong>
                {p.description && <div className="muted">{p.description}</div>}
                {p.include_deferred && <div className="muted">counts deferred tasks</div>}
              </td>
              <td>{p.slots === -1 ? "unlimited" : p.slots}</td>
              <td>{p.open_slots === -1 ? "∞" : p.open_slots}</td>
              <td>{p.running_slots}</td>
              <td>{p.queued_slots}</td>
              <td>{p.scheduled_slots}</td>
              <td>{p.deferred_slots}</td>
              <td>
                <SlotBar pool={p} />
              </td>
              {canEdit && (
                <td>
                  <RowActions
                    name={p.name}
                    onEdit={() => setEditing({ mode: "edit", pool: p })}
                    onDelete={() => setDeleting(p.name)}
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter offset={offset} limit={limit} total={list.data?.total_entries ?? 0} update={update} />
      {editing && (
        <PoolForm
          editing={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void refresh();
          }}
        />
      )}
      <ConfirmDelete
        title={`Delete pool ${deleting ?? ""}`}
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          must(await api.DELETE("/api/v2/pools/{pool_name}", { params: { path: { pool_name: deleting! } } }));
          await refresh();
        }}
      >
        <p>
          Delete the pool <code>{deleting}</code>? Tasks assigned to it will not be scheduled until it exists
          again.
        </p>
      </ConfirmDelete>
    </>
  );
}

/** Used slots by kind, as parts of the pool's size (an unlimited pool scales to what is used). */
function SlotBar({ pool }: { pool: Pool }) {
  const used = USED.reduce((n, u) => n + pool[u.key], 0);
  const size = pool.slots === -1 ? Math.max(used, 1) : Math.max(pool.slots, used, 1);
  const summary = USED.map((u) => `${pool[u.key]} ${u.label}`).join(", ");
  return (
    <div>
      <div
        className="slot-bar"
        role="img"
        aria-label={`${pool.name}: ${summary} of ${pool.slots === -1 ? "unlimited" : pool.slots} slots`}
      >
        {USED.map((u) =>
          pool[u.key] > 0 ? (
            <span
              key={u.key}
              title={`${pool[u.key]} ${u.label}`}
              style={{ width: `${(pool[u.key] / size) * 100}%`, background: stateColor(u.state) }}
            />
          ) : null,
        )}
      </div>
    </div>
  );
}

function PoolForm({
  editing,
  onClose,
  onSaved,
}: {
  editing: Exclude<Editing, null>;
  onClose: () => void;
  onSaved: () => void;
}) {
  const old = editing.mode === "edit" ? editing.pool : null;
  const [name, setName] = useState(old?.name ?? "");
  const [slots, setSlots] = useState(String(old?.slots ?? 8));
  const [description, setDescription] = useState(old?.description ?? "");
  const [includeDeferred, setIncludeDeferred] = useState(old?.include_deferred ?? false);
  const save = useMutation({
    mutationFn: async () => {
      const fields = {
        slots: Number(slots),
        description: description || null,
        include_deferred: includeDeferred,
      };
      return old
        ? must(
            await api.PATCH("/api/v2/pools/{pool_name}", {
              params: { path: { pool_name: old.name } },
              body: { pool: old.name, ...fields },
            }),
          )
        : must(await api.POST("/api/v2/pools", { body: { name, ...fields } }));
    },
    onSuccess: onSaved,
  });
  return (
    <FormDialog
      title={old ? `Edit pool ${old.name}` : "Add pool"}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      busy={save.isPending}
    >
      <label htmlFor="pool-name">Name</label>
      <input
        id="pool-name"
        required
        value={name}
        readOnly={!!old}
        onChange={(e) => setName(e.target.value)}
      />
      <label htmlFor="pool-slots">Slots</label>
      <input
        id="pool-slots"
        type="number"
        min={-1}
        step={1}
        required
        value={slots}
        onChange={(e) => setSlots(e.target.value)}
      />
      <p className="hint muted">-1 means unlimited.</p>
      <label htmlFor="pool-description">Description</label>
      <input id="pool-description" value={description} onChange={(e) => setDescription(e.target.value)} />
      <label htmlFor="pool-deferred">Count deferred tasks</label>
      <input
        id="pool-deferred"
        type="checkbox"
        checked={includeDeferred}
        onChange={(e) => setIncludeDeferred(e.target.checked)}
      />
    </FormDialog>
  );
}
