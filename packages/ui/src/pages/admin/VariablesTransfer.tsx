/**
 * Variables in and out as a JSON file (Airflow's variable import and export, the same shape as
 * `updraft variables import|export`): `{ "key": value }`, a value that is not a string stored as its
 * JSON. Import goes through the bulk endpoint in one request, overwriting or skipping existing keys.
 * Export writes what the API shows: values of secret-looking keys come back masked ("***"), so the
 * CLI is the way to move secrets.
 */
import { useMutation } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { api, must } from "../../api.ts";

/** The file's entries as the API stores them; a clear error for anything but one JSON object. */
export function parseVariablesFile(text: string): { key: string; value: string }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`the file is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error('the file must hold one JSON object of variables, e.g. {"region": "eu"}');
  return Object.entries(parsed).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
}

async function allVariables(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let offset = 0; ; offset += 100) {
    const page = must(
      await api.GET("/api/v2/variables", { params: { query: { limit: 100, offset, order_by: ["key"] } } }),
    );
    for (const v of page.variables) out[v.key] = v.value;
    if (offset + 100 >= page.total_entries) return out;
  }
}

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export function VariablesTransfer({ onImported }: { onImported: () => void }) {
  const file = useRef<HTMLInputElement>(null);
  const [overwrite, setOverwrite] = useState(true);
  const [message, setMessage] = useState<string | null>(null);
  const importing = useMutation({
    mutationFn: async (text: string) => {
      const entities = parseVariablesFile(text);
      const result = must(
        await api.PATCH("/api/v2/variables", {
          body: {
            actions: [
              {
                action: "create",
                entities,
                action_on_existence: overwrite ? "overwrite" : "skip",
              },
            ],
          },
        }),
      );
      const errors = result.create?.errors ?? [];
      if (errors.length > 0) throw new Error(errors.map((e) => JSON.stringify(e)).join("; "));
      return { count: result.create?.success?.length ?? 0, of: entities.length };
    },
    onSuccess: ({ count, of }) => {
      setMessage(`Imported ${count} of ${of} variables.`);
      onImported();
    },
  });
  const exporting = useMutation({
    mutationFn: async () => download("variables.json", `${JSON.stringify(await allVariables(), null, 2)}\n`),
  });
  return (
    <div className="variables-transfer" role="group" aria-label="Import and export">
      <button type="button" onClick={() => exporting.mutate()} disabled={exporting.isPending}>
        Export
      </button>
      <label>
        <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} />{" "}
        overwrite existing
      </label>
      <button type="button" onClick={() => file.current?.click()} disabled={importing.isPending}>
        Import…
      </button>
      <input
        ref={file}
        type="file"
        accept="application/json,.json"
        aria-label="Variables file"
        hidden
        onChange={async (e) => {
          const chosen = e.target.files?.[0];
          e.target.value = "";
          if (chosen) importing.mutate(await chosen.text());
        }}
      />
      {message && importing.isSuccess && (
        <span role="status" className="muted">
          {message}
        </span>
      )}
      {(importing.error ?? exporting.error) && (
        <span role="alert" className="error">
          {(importing.error ?? exporting.error)!.message}
        </span>
      )}
    </div>
  );
}
