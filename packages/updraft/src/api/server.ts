/** Runs the webserver: the API application listening on [api] host and port. */
import type { Config } from "../config/load.ts";
import type { Logger } from "../logging.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { buildApi } from "./app.ts";
import type { LogFolder } from "../logs/folder.ts";

export interface Webserver {
  url: string;
  close(): Promise<void>;
}

export async function startWebserver(o: {
  config: Config;
  database: Database;
  log: Logger;
  cipher?: SecretCipher;
  port?: number;
  host?: string;
  onChange?: () => void;
  logFolder?: LogFolder;
}): Promise<Webserver> {
  const app = await buildApi(o);
  const api = o.config.values.api;
  const address = await app.listen({ port: o.port ?? api.port, host: o.host ?? api.host });
  o.log.info({ url: address, docs: `${address}/api/v2/docs` }, "webserver listening");
  return { url: address, close: () => app.close() };
}
