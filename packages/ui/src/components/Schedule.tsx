/**
 * A DAG's schedule in words (the API's timetable_description, "every day at 02:30,
 * Europe/Amsterdam"), with the expression as written (timetable_summary) in the tooltip.
 */
export function Schedule({
  summary,
  description,
  className,
}: {
  summary: string | null | undefined;
  description: string | null | undefined;
  className?: string;
}) {
  const raw = summary && summary !== "None" ? summary : "manual runs only";
  return (
    <span className={`schedule ${className ?? ""}`} title={`Schedule: ${raw}`}>
      {description || raw}
    </span>
  );
}
