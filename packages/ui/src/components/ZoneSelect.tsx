/**
 * The time zone every date is shown in: UTC or the browser's. Changing it redraws the page (each
 * date is formatted when drawn), so the App keys its content on the choice.
 */
import { browserZone, storeZone, type ZoneChoice } from "./time.ts";

export function ZoneSelect({ zone, onChange }: { zone: ZoneChoice; onChange: (z: ZoneChoice) => void }) {
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
    </select>
  );
}
