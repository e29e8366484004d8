/**
 * Dynamic task mapping (Airflow's expand): `list_files` returns a list known only at run time, and
 * `count_lines` gets one task instance per file, each labelled with its file (mapIndexTemplate). The
 * results reach `total` as one list, in map-index order. `compress` maps keyword arguments (the cross
 * product of levels and formats, partial() fixing the rest), and `archive` maps a bash command.
 * `per_file` is a mapped task group: each file gets its own `check` and `publish`, and publish of a
 * file waits only for check of the same file.
 * Trigger it with `{"files": 0}` to see an empty list skip the mapped tasks.
 */
import { bash, dag, task, taskGroup } from "updraft";

const listFiles = task("list_files", (count: string) =>
  Array.from({ length: Number(count) }, (_, i) => `part-${i}.csv`),
);
const countLines = task("count_lines", (file: string) => file.length * 10, {
  mapIndexTemplate: "{{ item }}",
});
const total = task("total", (counts: number[]) => counts.reduce((a, b) => a + b, 0));
const compress = task(
  "compress",
  (o: { level: number; format: string; bucket: string }) => `${o.bucket}/${o.format}-${o.level}`,
  { mapIndexTemplate: "{{ format }} level {{ level }}" },
);

const check = task("check", (file: string) => `${file} ok`);
const publish = task("publish", (file: string, verdict: string) => `${file}: ${verdict}`);
const perFile = taskGroup("per_file", (file: string) => publish(file, check(file)));

export default dag(
  {
    dagId: "example_dynamic_task_mapping",
    description: "One task instance per element of a list made at run time.",
    schedule: null,
    tags: ["example"],
    params: { files: 4 },
  },
  () => {
    const files = listFiles("{{ params.files }}");
    const counts = countLines.expand(files);
    total(counts);
    perFile.expand(files);
    compress.partial({ bucket: "s3://archive" }).expand({ level: [1, 9], format: ["gz", "zst"] });
    bash.partial("archive", { env: { TARGET: "/tmp/archive" } }).expand({
      command: ["echo archiving logs to $TARGET", "echo archiving metrics to $TARGET"],
    });
  },
);
