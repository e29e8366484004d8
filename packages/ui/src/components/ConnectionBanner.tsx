/** The connection-lost banner: shown while the server cannot be reached, gone once it answers again. */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { probe, useConnectionLost } from "../connection.ts";

/** How often the server is asked again while it cannot be reached. */
const PROBE_MS = 2000;

export function ConnectionBanner() {
  const lost = useConnectionLost();
  const queries = useQueryClient();
  const [trying, setTrying] = useState(false);
  useEffect(() => {
    if (!lost) return;
    const timer = setInterval(() => void probe(), PROBE_MS);
    return () => {
      clearInterval(timer);
      // Back: re-read what is on screen, so nothing stale stays shown.
      void queries.invalidateQueries();
    };
  }, [lost, queries]);
  if (!lost) return null;
  const retry = async () => {
    setTrying(true);
    await probe();
    setTrying(false);
  };
  return (
    <div role="alert" className="banner connection-lost" data-testid="connection-lost">
      <strong>Connection to the server lost.</strong> What is shown may be out of date; this page updates
      again once the server answers.{" "}
      <button type="button" onClick={() => void retry()} disabled={trying}>
        {trying ? "Retrying…" : "Retry"}
      </button>
    </div>
  );
}
