/**
 * Connections: searched and paged on the server; Op and Admin create, edit, test and delete them.
 * The server never sends a password (it answers "***" where one is set), so the edit form leaves the
 * password field empty: left empty, the stored password is kept (the field is not in update_mask).
 * The form follows the connection type registry (/ui/connections/hook_meta): a type hides or
 * relabels standard fields and adds its extra fields (secret ones as password inputs), which are
 * written into the extra JSON.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, hookMeta, must, uiConfig, type HookMeta } from "../../api.ts";
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

type Connection = components["schemas"]["ConnectionResponse"];
type Body = components["schemas"]["ConnectionBody"];
type Editing = { mode: "new" } | { mode: "edit"; connection: Connection } | null;

export function ConnectionsSection() {
  const { update, limit, offset, search, role } = useListState();
  const queries = useQueryClient();
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["connections", search, offset, limit],
    placeholderData: keepPreviousData,
    enabled: mayManage(role),
    queryFn: async () =>
      must(
        await api.GET("/api/v2/connections", {
          params: {
            query: {
              limit,
              offset,
              order_by: ["connection_id"],
              ...(search ? { connection_id_pattern: search } : {}),
            },
          },
        }),
      ),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ["connections"] });
  if (!mayManage(role)) return <NotAllowed what="connections" />;
  return (
    <>
      <div className="toolbar">
        <h1>Connections</h1>
        <input
          type="search"
          aria-label="Search connection ids"
          placeholder="Search ids"
          defaultValue={search}
          onChange={(e) => update({ search: e.target.value, offset: null }, { replace: true })}
        />
        <span className="spacer" />
        <button className="primary" onClick={() => setEditing({ mode: "new" })}>
          Add connection
        </button>
      </div>
      <Failure what="Could not list the connections" error={list.error} />
      <table aria-label="Connections">
        <thead>
          <tr>
            <th>Id</th>
            <th>Type</th>
            <th>Host</th>
            <th>Login</th>
            <th>Password</th>
            <th>Description</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.connections.map((c) => (
            <tr key={c.connection_id}>
              <td>
                <code>{c.connection_id}</code>
              </td>
              <td>{c.conn_type}</td>
              <td>
                {c.host}
                {c.port ? `:${c.port}` : ""}
                {c.schema ? ` / ${c.schema}` : ""}
              </td>
              <td>{c.login}</td>
              <td className="muted">{c.password ? "set" : "none"}</td>
              <td className="muted">{c.description}</td>
              <td>
                <RowActions
                  name={c.connection_id}
                  onEdit={() => setEditing({ mode: "edit", connection: c })}
                  onDelete={() => setDeleting(c.connection_id)}
                />
              </td>
            </tr>
          ))}
          {list.data?.connections.length === 0 && (
            <EmptyRow colSpan={7}>No connections{search ? ` matching "${search}"` : ""}.</EmptyRow>
          )}
        </tbody>
      </table>
      <ListFooter offset={offset} limit={limit} total={list.data?.total_entries ?? 0} update={update} />
      {editing && (
        <ConnectionForm
          editing={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void refresh();
          }}
        />
      )}
      <ConfirmDelete
        title={`Delete connection ${deleting ?? ""}`}
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          must(
            await api.DELETE("/api/v2/connections/{connection_id}", {
              params: { path: { connection_id: deleting! } },
            }),
          );
          await refresh();
        }}
      >
        <p>
          Delete the connection <code>{deleting}</code>? Tasks that use it will fail.
        </p>
      </ConfirmDelete>
    </>
  );
}

const FIELDS = ["conn_type", "description", "host", "login", "schema", "port", "extra"] as const;
type Field = (typeof FIELDS)[number];
const LABELS: Record<Field, string> = {
  conn_type: "Type",
  description: "Description",
  host: "Host",
  login: "Login",
  schema: "Schema",
  port: "Port",
  extra: "Extra (JSON)",
};

function ConnectionForm({
  editing,
  onClose,
  onSaved,
}: {
  editing: Exclude<Editing, null>;
  onClose: () => void;
  onSaved: () => void;
}) {
  const old = editing.mode === "edit" ? editing.connection : null;
  const [id, setId] = useState(old?.connection_id ?? "");
  const [values, setValues] = useState<Record<Field, string>>(() => {
    const out = {} as Record<Field, string>;
    for (const f of FIELDS) out[f] = old?.[f] === null || old?.[f] === undefined ? "" : String(old[f]);
    return out;
  });
  const [password, setPassword] = useState("");
  const body = (): Body => ({
    connection_id: id,
    conn_type: values.conn_type,
    description: values.description || null,
    host: values.host || null,
    login: values.login || null,
    schema: values.schema || null,
    port: values.port ? Number(values.port) : null,
    extra: values.extra || null,
    // "***" is the server's "keep what is stored": an empty field changes nothing.
    password: password || (old ? "***" : null),
  });
  const save = useMutation({
    mutationFn: async () => {
      if (!old) return must(await api.POST("/api/v2/connections", { body: body() }));
      const mask = FIELDS.filter(
        (f) => values[f] !== (old[f] === null || old[f] === undefined ? "" : String(old[f])),
      );
      if (password) mask.push("password" as Field);
      if (mask.length === 0) return old;
      return must(
        await api.PATCH("/api/v2/connections/{connection_id}", {
          params: { path: { connection_id: old.connection_id }, query: { update_mask: mask } },
          body: body(),
        }),
      );
    },
    onSuccess: onSaved,
  });
  const test = useMutation({
    mutationFn: async () => must(await api.POST("/api/v2/connections/test", { body: body() })),
  });
  const settings = useQuery({ queryKey: ["ui-config"], queryFn: uiConfig, staleTime: 60_000 });
  const testing = settings.data?.test_connection ?? "Disabled";
  const types = useQuery({ queryKey: ["hook-meta"], queryFn: hookMeta, staleTime: 60_000 });
  const meta = types.data?.find((t) => t.connection_type === values.conn_type.trim().toLowerCase());
  const setExtra = (name: string, value: string, kind: string) => {
    const extra = parseExtra(values.extra) ?? {};
    if (value === "") delete extra[name];
    // Numbers and booleans are kept as JSON numbers and booleans, as the hooks read them.
    else extra[name] = typed(value, kind);
    setValues({ ...values, extra: Object.keys(extra).length ? JSON.stringify(extra) : "" });
  };
  return (
    <FormDialog
      title={old ? `Edit connection ${old.connection_id}` : "Add connection"}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      busy={save.isPending}
    >
      <label htmlFor="conn-id">Connection id</label>
      <input id="conn-id" required value={id} readOnly={!!old} onChange={(e) => setId(e.target.value)} />
      <datalist id="conn-types">
        {types.data?.map((t) => (
          <option key={t.connection_type} value={t.connection_type}>
            {t.hook_name}
          </option>
        ))}
      </datalist>
      {FIELDS.filter((f) => !behaviour(meta, f)?.hidden).map((f) => (
        <FieldInput
          key={f}
          field={f}
          behaviour={behaviour(meta, f)}
          value={values[f]}
          onChange={(v) => setValues({ ...values, [f]: v })}
        />
      ))}
      {meta &&
        Object.entries(meta.extra_fields).map(([name, field]) => (
          <ExtraInput
            key={`${meta.connection_type}-${name}`}
            name={name}
            label={field.schema.title || name}
            secret={field.sensitive}
            hint={field.description}
            value={extraValue(values.extra, name)}
            kind={field.schema.type[0] ?? "string"}
            onChange={(v) => setExtra(name, v, field.schema.type[0] ?? "string")}
          />
        ))}
      {!meta?.standard_fields.password.hidden && (
        <>
          <label htmlFor="conn-password">{meta?.standard_fields.password.title ?? "Password"}</label>
          <input
            id="conn-password"
            type="password"
            autoComplete="new-password"
            value={password}
            placeholder={
              old?.password
                ? "unchanged (a password is set)"
                : (meta?.standard_fields.password.placeholder ?? "")
            }
            onChange={(e) => setPassword(e.target.value)}
          />
          {old && <p className="hint muted">Leave empty to keep the stored password.</p>}
        </>
      )}
      <span />
      {testing !== "Hidden" && (
        <div>
          <button
            type="button"
            disabled={
              testing !== "Enabled" || !values.conn_type || test.isPending || meta?.testable === false
            }
            title={
              testing !== "Enabled"
                ? 'Testing connections is disabled on this installation: an administrator sets [core] test_connection = "Enabled"'
                : meta?.testable === false
                  ? `${meta.hook_name} connections cannot be tested`
                  : undefined
            }
            onClick={() => test.mutate()}
          >
            Test connection
          </button>
          {test.data && (
            <p role="status" className={test.data.status ? "" : "error"}>
              {test.data.status ? "Connection works: " : "Connection failed: "}
              {test.data.message}
            </p>
          )}
          <Failure what="Test failed" error={test.error} />
        </div>
      )}
    </FormDialog>
  );
}

/** The registry's standard field for a form field ("schema" is Airflow's url_schema). */
const STANDARD: Partial<Record<Field, keyof HookMeta["standard_fields"]>> = {
  description: "description",
  host: "host",
  login: "login",
  schema: "url_schema",
  port: "port",
};

function behaviour(meta: HookMeta | undefined, field: Field) {
  const name = STANDARD[field];
  return meta && name ? meta.standard_fields[name] : undefined;
}

function parseExtra(extra: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(extra || "{}");
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function typed(value: string, kind: string): unknown {
  if (kind === "boolean") return value === "true";
  if (kind === "number" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  if (kind === "object") {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function extraValue(extra: string, name: string): string {
  const value = parseExtra(extra)?.[name];
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function FieldInput({
  field,
  behaviour,
  value,
  onChange,
}: {
  field: Field;
  behaviour: { title: string | null; placeholder: string | null } | undefined;
  value: string;
  onChange: (v: string) => void;
}) {
  const id = `conn-${field}`;
  return (
    <>
      <label htmlFor={id}>{behaviour?.title ?? LABELS[field]}</label>
      {field === "extra" ? (
        <textarea id={id} value={value} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input
          id={id}
          type={field === "port" ? "number" : "text"}
          required={field === "conn_type"}
          list={field === "conn_type" ? "conn-types" : undefined}
          placeholder={behaviour?.placeholder ?? undefined}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </>
  );
}

/** One extra field of the type, kept in the extra JSON; a secret one is a password input. */
function ExtraInput(p: {
  name: string;
  label: string;
  secret: boolean;
  hint: string | null;
  value: string;
  kind: string;
  onChange: (v: string) => void;
}) {
  const id = `conn-extra-${p.name}`;
  if (p.kind === "boolean")
    return (
      <>
        <label htmlFor={id}>{p.label}</label>
        <input
          id={id}
          type="checkbox"
          title={p.hint ?? undefined}
          checked={p.value === "true"}
          onChange={(e) => p.onChange(e.target.checked ? "true" : "false")}
        />
      </>
    );
  return (
    <>
      <label htmlFor={id}>{p.label}</label>
      <input
        id={id}
        type={p.secret ? "password" : p.kind === "number" ? "number" : "text"}
        autoComplete={p.secret ? "new-password" : undefined}
        title={p.hint ?? undefined}
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
      />
    </>
  );
}
