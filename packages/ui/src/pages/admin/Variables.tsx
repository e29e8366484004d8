/** Variables: searched and paged on the server; Op and Admin create, edit and delete them. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, must } from "../../api.ts";
import type { components } from "../../../../updraft/src/api/generated/airflow-v2.ts";
import {
  ConfirmDelete,
  Failure,
  FormDialog,
  ListFooter,
  mayManage,
  EmptyRow,
  NotAllowed,
  RowActions,
  useListState,
} from "./common.tsx";
import { VariablesTransfer } from "./VariablesTransfer.tsx";

type Variable = components["schemas"]["VariableResponse"];
type Editing = { mode: "new" } | { mode: "edit"; variable: Variable } | null;

export function VariablesSection() {
  const { update, limit, offset, search, role } = useListState();
  const queries = useQueryClient();
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["variables", search, offset, limit],
    placeholderData: keepPreviousData,
    enabled: mayManage(role),
    queryFn: async () =>
      must(
        await api.GET("/api/v2/variables", {
          params: {
            query: { limit, offset, order_by: ["key"], ...(search ? { variable_key_pattern: search } : {}) },
          },
        }),
      ),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ["variables"] });
  if (!mayManage(role)) return <NotAllowed what="variables" />;
  return (
    <>
      <div className="toolbar">
        <h1>Variables</h1>
        <input
          type="search"
          aria-label="Search variable keys"
          placeholder="Search keys"
          defaultValue={search}
          onChange={(e) => update({ search: e.target.value, offset: null }, { replace: true })}
        />
        <span className="spacer" />
        <VariablesTransfer onImported={() => void refresh()} />
        <button className="primary" onClick={() => setEditing({ mode: "new" })}>
          Add variable
        </button>
      </div>
      <Failure what="Could not list the variables" error={list.error} />
      <table aria-label="Variables">
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
            <th>Description</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.variables.map((v) => (
            <tr key={v.key}>
              <td>
                <code>{v.key}</code>
              </td>
              <td>
                <pre className="admin-value">{v.value}</pre>
              </td>
              <td className="muted">{v.description}</td>
              <td>
                <RowActions
                  name={v.key}
                  onEdit={() => setEditing({ mode: "edit", variable: v })}
                  onDelete={() => setDeleting(v.key)}
                />
              </td>
            </tr>
          ))}
          {list.data?.variables.length === 0 && (
            <EmptyRow colSpan={4}>No variables{search ? ` matching "${search}"` : ""}.</EmptyRow>
          )}
        </tbody>
      </table>
      <ListFooter offset={offset} limit={limit} total={list.data?.total_entries ?? 0} update={update} />
      {editing && (
        <VariableForm
          editing={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void refresh();
          }}
        />
      )}
      <ConfirmDelete
        title={`Delete variable ${deleting ?? ""}`}
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          must(
            await api.DELETE("/api/v2/variables/{variable_key}", {
              params: { path: { variable_key: deleting! } },
            }),
          );
          await refresh();
        }}
      >
        <p>
          Delete the variable <code>{deleting}</code>? Tasks that read it will fail.
        </p>
      </ConfirmDelete>
    </>
  );
}

function VariableForm({
  editing,
  onClose,
  onSaved,
}: {
  editing: Exclude<Editing, null>;
  onClose: () => void;
  onSaved: () => void;
}) {
  const old = editing.mode === "edit" ? editing.variable : null;
  const [key, setKey] = useState(old?.key ?? "");
  const [value, setValue] = useState(old?.value ?? "");
  const [description, setDescription] = useState(old?.description ?? "");
  const save = useMutation({
    mutationFn: async () => {
      const body = { key, value, description: description || null };
      return old
        ? must(
            await api.PATCH("/api/v2/variables/{variable_key}", {
              params: { path: { variable_key: old.key } },
              body,
            }),
          )
        : must(await api.POST("/api/v2/variables", { body }));
    },
    onSuccess: onSaved,
  });
  const json = jsonProblem(value);
  return (
    <FormDialog
      title={old ? `Edit variable ${old.key}` : "Add variable"}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      busy={save.isPending}
    >
      <label htmlFor="var-key">Key</label>
      <input id="var-key" required value={key} readOnly={!!old} onChange={(e) => setKey(e.target.value)} />
      <label htmlFor="var-value">Value</label>
      <textarea id="var-value" value={value} onChange={(e) => setValue(e.target.value)} />
      {json && <p className="hint muted">{json}</p>}
      <label htmlFor="var-description">Description</label>
      <input id="var-description" value={description} onChange={(e) => setDescription(e.target.value)} />
    </FormDialog>
  );
}

/** A hint when the value looks like JSON but does not parse (a plain string is fine too). */
function jsonProblem(value: string): string | null {
  if (!/^\s*[[{]/.test(value)) return null;
  try {
    JSON.parse(value);
    return "Valid JSON: tasks can read it with deserialize_json.";
  } catch (e) {
    return `Looks like JSON but does not parse: ${(e as Error).message}`;
  }
}
