/**
 * The time zone every date is shown in: UTC, the browser's, or the DAG's (on a DAG's pages, its
 * `timezone`; elsewhere that choice falls back to the browser's). Changing it redraws the page (each
 * date is formatted when drawn), so the App keys its content on the choice and the DAG's zone.
 */
import { browserZone, storeZone, useDagZone, type ZoneChoice } from "./time.ts";

export function ZoneSelect({ zone, onChange }: { zone: ZoneChoice; onChange: (z: ZoneChoice) => void }) {
  const dagZone = useDagZone();
  return (
    <select
      aria-label="Time zone"
      value={zone}
      onChange={(e) => {
        const next = e.target.value as ZoneChoice;
        storeZone(next);
        onChange(next);
      }}
    >
      <option value="local">Local time ({browserZone()})</option>
      <option value="UTC">UTC</option>
      <option value="dag">{dagZone ? `DAG's zone (${dagZone})` : "DAG's zone (on a DAG's pages)"}</option>
    </select>
  );
}
