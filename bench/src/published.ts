/**
 * Orchestrators that cannot run here (they need Docker images, Python services or a Go/Rust server
 * that no registry reachable here ships): their published figures, from other machines and other
 * workloads, shown beside ours but never compared as if measured here.
 */
import type { Row } from "./report.ts";

const WINDMILL = "https://www.windmill.dev/docs/misc/benchmarks/competitors";
const row = (peer: string, published: string, source: string): Row => ({
  peer,
  backend: "-",
  durable: true,
  measured: false,
  ok: true,
  metrics: {},
  published,
  source,
});

export const NOT_MEASURED: Row[] = [
  row(
    "Apache Airflow",
    "about 1.1-2.9 s between dependent tasks and about 98 MB per running task (figures quoted in issue 6); 1,000 tasks in 11.6 s of scheduling lag in the Airflow 2.0 scheduler benchmark; 10 chained fibo(33) tasks in 54.7 s (Airflow 2.7.3, docker-compose, AWS m4.large)",
    `https://www.astronomer.io/blog/airflow-2-scheduler/ ; ${WINDMILL}`,
  ),
  row("Temporal", "10 chained fibo(33) tasks in 7.25 s (docker-compose, AWS m4.large)", WINDMILL),
  row("Hatchet", "10 chained fibo(33) tasks in 7.79 s (same comparison)", `${WINDMILL}/results/python`),
  row(
    "Windmill",
    "10 chained fibo(33) tasks in 8.35 s, 7.70 s with dedicated workers (its own comparison)",
    `${WINDMILL}/results/python`,
  ),
  row("Inngest", "no published per-task overhead figure found", "-"),
];
