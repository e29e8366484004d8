/**
 * Triggering a run: a form generated from the DAG's params (get_dag_details), each field checked
 * against its param's JSON schema before anything is sent, the error shown beside the field. A
 * logical date and a run id are optional; a DAG without params gets a free JSON conf editor.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, must } from "../api.ts";
import type { components } from "../../../updraft/src/api/generated/airflow-v2.ts";
import { Dialog } from "./Dialog.tsx";
import { enumLabels, paramFields, validateParams, type ParamField } from "./trigger-params.ts";
import "./trigger.css";

type DagRun = components["schemas"]["DAGRunResponse"];

export function TriggerDialog({
  dagId,
  open,
  onClose,
  onTriggered,
}: {
  dagId: string;
  open: boolean;
  onClose: () => void;
  onTriggered: (run: DagRun) => void;
}) {
  return (
    <Dialog
      title={`Trigger ${dagId}`}
      open={open}
      onClose={onClose}
      actions={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" form={`trigger-${dagId}`}>
            Trigger
          </button>
        </>
      }
    >
      <TriggerForm dagId={dagId} onTriggered={onTriggered} />
    </Dialog>
  );
}

function TriggerForm({ dagId, onTriggered }: { dagId: string; onTriggered: (run: DagRun) => void }) {
  // The same query (and cache entry) as the DAG page's Details tab.
  const details = useQuery({
    queryKey: ["dagDetails", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dags/{dag_id}/details", { params: { path: { dag_id: dagId } } })),
  });
  const fields = useMemo(() => paramFields(details.data?.params), [details.data]);
  const [entries, setEntries] = useState<Record<string, string | boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [logicalDate, setLogicalDate] = useState("");
  const [runId, setRunId] = useState("");
  const [confText, setConfText] = useState("{}");
  const trigger = useMutation({
    mutationFn: async (conf: Record<string, unknown>) =>
      must(
        await api.POST("/api/v2/dags/{dag_id}/dagRuns", {
          params: { path: { dag_id: dagId } },
          body: {
            logical_date: logicalDate ? new Date(logicalDate).toISOString() : null,
            ...(runId.trim() ? { dag_run_id: runId.trim() } : {}),
            conf,
          },
        }),
      ),
    onSuccess: onTriggered,
  });

  /** Validates everything; sends only when every field is valid. */
  const submit = () => {
    const { conf, errors: found } = validateParams(fields, entries);
    let extra: Record<string, unknown> = {};
    if (fields.length === 0) {
      try {
        const parsed: unknown = JSON.parse(confText || "{}");
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
          found.__conf = "The conf must be a JSON object.";
        else extra = parsed as Record<string, unknown>;
      } catch (e) {
        found.__conf = `Not valid JSON: ${(e as Error).message}`;
      }
    }
    if (logicalDate && Number.isNaN(Date.parse(logicalDate))) found.__logical_date = "Not a date and time.";
    setErrors(found);
    if (Object.keys(found).length === 0) trigger.mutate({ ...extra, ...conf });
  };

  if (details.isPending) return <p className="muted">Loading the DAG's params…</p>;
  return (
    <form
      id={`trigger-${dagId}`}
      className="trigger-form"
      noValidate
      aria-label={`Trigger ${dagId}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {details.isError && (
        <p role="alert" className="error">
          Could not read the DAG's params: {details.error.message}
        </p>
      )}
      {fields.length > 0 ? (
        fields.map((field) => (
          <ParamInput
            key={field.name}
            field={field}
            value={entries[field.name] ?? field.initial}
            error={errors[field.name]}
            onChange={(v) => setEntries({ ...entries, [field.name]: v })}
          />
        ))
      ) : (
        <div className="trigger-field">
          <label htmlFor="trigger-conf">Configuration (JSON)</label>
          <textarea
            id="trigger-conf"
            value={confText}
            aria-invalid={!!errors.__conf}
            aria-describedby="trigger-conf-error"
            onChange={(e) => setConfText(e.target.value)}
          />
          <FieldError id="trigger-conf-error" error={errors.__conf} />
        </div>
      )}
      <details>
        <summary>Logical date and run id</summary>
        <div className="trigger-field">
          <label htmlFor="trigger-logical-date">Logical date (empty: now)</label>
          <input
            id="trigger-logical-date"
            type="datetime-local"
            step={1}
            value={logicalDate}
            aria-describedby="trigger-logical-date-error"
            onChange={(e) => setLogicalDate(e.target.value)}
          />
          <FieldError id="trigger-logical-date-error" error={errors.__logical_date} />
        </div>
        <div className="trigger-field">
          <label htmlFor="trigger-run-id">Run id (empty: generated)</label>
          <input id="trigger-run-id" value={runId} onChange={(e) => setRunId(e.target.value)} />
        </div>
      </details>
      {Object.keys(errors).length > 0 && (
        <p role="alert" className="error">
          Fix the fields marked above: nothing was sent.
        </p>
      )}
      {trigger.isError && (
        <p role="alert" className="error">
          Trigger failed: {trigger.error.message}
        </p>
      )}
    </form>
  );
}

function FieldError({ id, error }: { id: string; error: string | undefined }) {
  return (
    <p id={id} className="field-error" aria-live="polite">
      {error ?? ""}
    </p>
  );
}

function ParamInput({
  field,
  value,
  error,
  onChange,
}: {
  field: ParamField;
  value: string | boolean;
  error: string | undefined;
  onChange: (value: string | boolean) => void;
}) {
  const id = `param-${field.name}`;
  const common = {
    id,
    "aria-invalid": !!error,
    "aria-describedby": `${id}-error ${id}-description`,
  };
  const s = field.schema;
  let input;
  if (field.kind === "boolean")
    input = (
      <input
        type="checkbox"
        {...common}
        checked={value === true}
        onChange={(e) => onChange(e.target.checked)}
      />
    );
  else if (field.kind === "enum")
    input = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {field.nullable && <option value="">(none)</option>}
        {enumLabels(field).map((label) => (
          <option key={label}>{label}</option>
        ))}
      </select>
    );
  else if (field.kind === "json")
    input = <textarea {...common} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  else
    input = (
      <input
        {...common}
        type={field.kind === "string" ? "text" : "number"}
        inputMode={field.kind === "integer" ? "numeric" : undefined}
        min={s.minimum}
        max={s.maximum}
        step={field.kind === "integer" ? 1 : "any"}
        value={String(value)}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <div className="trigger-field">
      <label htmlFor={id}>
        {field.title} <span className="muted">({describeType(field)})</span>
      </label>
      {input}
      <p id={`${id}-description`} className="description muted">
        {field.description ?? ""}
      </p>
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

function describeType(field: ParamField): string {
  const s = field.schema;
  const parts: string[] = [field.kind === "json" ? String(s.type ?? "JSON") : field.kind];
  if (s.minimum !== undefined || s.maximum !== undefined)
    parts.push(`${s.minimum ?? "…"}–${s.maximum ?? "…"}`);
  if (s.pattern) parts.push(`pattern ${s.pattern}`);
  return parts.join(", ");
}
