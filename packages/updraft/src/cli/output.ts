/**
 * Listing output: `-o table|json|yaml|plain`, table by default. With json or yaml only the payload
 * goes to stdout (logs and progress go to stderr), so scripts can parse it.
 */
import Table from "cli-table3";
import { Option } from "commander";
import { stringify as toYaml } from "yaml";

export const OUTPUT_FORMATS = ["table", "json", "yaml", "plain"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table");
}

type Row = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Prints rows; `columns` picks and orders the fields shown as table or plain columns. */
export function printRows(rows: Row[], format: OutputFormat, columns?: string[]): void {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  switch (format) {
    case "json":
      process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
      return;
    case "yaml":
      process.stdout.write(rows.length ? toYaml(rows) : "[]\n");
      return;
    case "plain":
      for (const row of rows) process.stdout.write(cols.map((c) => cell(row[c])).join("\t") + "\n");
      return;
    case "table": {
      if (rows.length === 0) {
        process.stderr.write("No data found\n");
        return;
      }
      const table = new Table({ head: cols, style: { head: [], border: [] }, wordWrap: true });
      for (const row of rows) table.push(cols.map((c) => cell(row[c])));
      process.stdout.write(table.toString() + "\n");
    }
  }
}

/** One record: key/value lines as a table, or the object as json/yaml. */
export function printRecord(record: Row, format: OutputFormat): void {
  if (format === "json" || format === "yaml") {
    process.stdout.write(format === "json" ? JSON.stringify(record, null, 2) + "\n" : toYaml(record));
    return;
  }
  printRows(
    Object.entries(record).map(([property, value]) => ({ property, value })),
    format,
    ["property", "value"],
  );
}
