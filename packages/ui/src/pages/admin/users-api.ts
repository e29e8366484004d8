/**
 * The users and roles API (Airflow's FAB auth manager paths, /auth/fab/v1), typed here because
 * Airflow's public spec, from which the UI's client is generated, does not describe it. The same
 * openapi-fetch client is used, so the session cookie and the CSRF header go with every call.
 */
import type { Client } from "openapi-fetch";
import { api } from "../../api.ts";

export interface FabUser {
  username: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  active: boolean | null;
  roles: { name: string }[] | null;
  last_login: string | null;
  login_count: number | null;
  failed_login_count: number | null;
  created_on: string | null;
  changed_on: string | null;
}

export interface FabUserBody {
  username?: string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  roles?: { name: string }[];
  password?: string;
  active?: boolean;
}

type Json<T> = { content: { "application/json": T } };
type Refused = {
  400: Json<{ detail: unknown }>;
  403: Json<{ detail: unknown }>;
  404: Json<{ detail: unknown }>;
};
type UserPath = { path: { username: string } };

export interface UsersPaths {
  "/auth/fab/v1/users": {
    get: {
      parameters: { query?: { limit?: number; offset?: number; order_by?: string } };
      responses: { 200: Json<{ users: FabUser[]; total_entries: number }> } & Refused;
    };
    post: {
      requestBody: Json<FabUserBody & { username: string; password: string }>;
      responses: { 200: Json<FabUser> } & Refused & { 409: Json<{ detail: unknown }> };
    };
  };
  "/auth/fab/v1/users/{username}": {
    get: { parameters: UserPath; responses: { 200: Json<FabUser> } & Refused };
    patch: {
      parameters: UserPath & { query?: { update_mask?: string[] } };
      requestBody: Json<FabUserBody>;
      responses: { 200: Json<FabUser> } & Refused;
    };
    delete: { parameters: UserPath; responses: { 204: { content?: never } } & Refused };
  };
  "/auth/fab/v1/roles": {
    get: { responses: { 200: Json<{ roles: { name: string }[]; total_entries: number }> } & Refused };
  };
}

/** The UI's client seen through the users API's types: the same middleware (CSRF) applies. */
export const usersApi = api as unknown as Client<UsersPaths>;
