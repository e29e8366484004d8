/**
 * Users and their roles (Admin only): create with a role and a password, change the role,
 * deactivate or activate, reset the password, delete. Other roles do not see the page's actions,
 * and the server refuses them anyway.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import {
  ConfirmDelete,
  Failure,
  FormDialog,
  ListFooter,
  mayManageUsers,
  RowActions,
  useListState,
} from "./common.tsx";
import { usersApi, type FabUser, type FabUserBody } from "./users-api.ts";

const ROLES = ["Admin", "Op", "User", "Viewer"];
type Editing = { mode: "new" } | { mode: "password"; user: FabUser } | null;

export function UsersSection() {
  const { update, limit, offset, role } = useListState();
  const queries = useQueryClient();
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["users", offset, limit],
    placeholderData: keepPreviousData,
    enabled: mayManageUsers(role),
    queryFn: async () =>
      must(
        await usersApi.GET("/auth/fab/v1/users", {
          params: { query: { limit, offset, order_by: "username" } },
        }),
      ),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ["users"] });
  const patch = useMutation({
    mutationFn: async ({ username, mask, body }: { username: string; mask: string; body: FabUserBody }) =>
      must(
        await usersApi.PATCH("/auth/fab/v1/users/{username}", {
          params: { path: { username }, query: { update_mask: [mask] } },
          body,
        }),
      ),
    onSuccess: refresh,
  });
  if (!mayManageUsers(role))
    return (
      <p role="alert" className="muted">
        Only admins manage users.
      </p>
    );
  return (
    <>
      <div className="toolbar">
        <h1>Users</h1>
        <span className="spacer" />
        <button className="primary" onClick={() => setEditing({ mode: "new" })}>
          Add user
        </button>
      </div>
      <Failure what="Could not list the users" error={list.error} />
      <Failure what="Could not change the user" error={patch.error} />
      <table aria-label="Users">
        <thead>
          <tr>
            <th>User</th>
            <th>Name</th>
            <th>Role</th>
            <th>Active</th>
            <th>Last login</th>
            <th>Failed logins</th>
            <th>Created</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.users.map((u) => (
            <tr key={u.username} aria-label={`User ${u.username}`}>
              <td>
                <strong>{u.username}</strong>
                {u.email && <div className="muted">{u.email}</div>}
              </td>
              <td>{[u.first_name, u.last_name].filter(Boolean).join(" ")}</td>
              <td>
                <select
                  aria-label={`Role of ${u.username}`}
                  value={u.roles?.[0]?.name ?? ""}
                  disabled={patch.isPending}
                  onChange={(e) =>
                    patch.mutate({
                      username: u.username,
                      mask: "roles",
                      body: { roles: [{ name: e.target.value }] },
                    })
                  }
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <label className="switch">
                  <input
                    type="checkbox"
                    role="switch"
                    aria-label={`${u.username} active`}
                    checked={!!u.active}
                    disabled={patch.isPending}
                    onChange={(e) =>
                      patch.mutate({
                        username: u.username,
                        mask: "active",
                        body: { active: e.target.checked },
                      })
                    }
                  />
                  {u.active ? "Active" : "Inactive"}
                </label>
              </td>
              <td>{formatDate(u.last_login)}</td>
              <td>{u.failed_login_count ?? 0}</td>
              <td>{formatDate(u.created_on)}</td>
              <td>
                <RowActions
                  name={u.username}
                  editLabel="Reset password"
                  onEdit={() => setEditing({ mode: "password", user: u })}
                  onDelete={() => setDeleting(u.username)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ListFooter offset={offset} limit={limit} total={list.data?.total_entries ?? 0} update={update} />
      {editing?.mode === "new" && <NewUser onClose={() => setEditing(null)} onSaved={refresh} />}
      {editing?.mode === "password" && <ResetPassword user={editing.user} onClose={() => setEditing(null)} />}
      <ConfirmDelete
        title={`Delete user ${deleting ?? ""}`}
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          must(
            await usersApi.DELETE("/auth/fab/v1/users/{username}", {
              params: { path: { username: deleting! } },
            }),
          );
          await refresh();
        }}
      >
        <p>
          Delete the user <code>{deleting}</code>? They can no longer log in; the audit log keeps their name.
        </p>
      </ConfirmDelete>
    </>
  );
}

function NewUser({ onClose, onSaved }: { onClose: () => void; onSaved: () => Promise<void> }) {
  const [form, setForm] = useState({ username: "", email: "", first_name: "", last_name: "", password: "" });
  const [role, setRole] = useState("Viewer");
  const save = useMutation({
    mutationFn: async () =>
      must(
        await usersApi.POST("/auth/fab/v1/users", {
          body: {
            ...form,
            email: form.email || null,
            first_name: form.first_name || null,
            last_name: form.last_name || null,
            roles: [{ name: role }],
          },
        }),
      ),
    onSuccess: async () => {
      await onSaved();
      onClose();
    },
  });
  const field = (name: keyof typeof form, label: string, type = "text") => (
    <>
      <label htmlFor={`user-${name}`}>{label}</label>
      <input
        id={`user-${name}`}
        type={type}
        required={name === "username" || name === "password"}
        autoComplete={name === "password" ? "new-password" : "off"}
        value={form[name]}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
      />
    </>
  );
  return (
    <FormDialog
      title="Add user"
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      busy={save.isPending}
    >
      {field("username", "Username")}
      {field("email", "E-mail", "email")}
      {field("first_name", "First name")}
      {field("last_name", "Last name")}
      <label htmlFor="user-role">Role</label>
      <select id="user-role" value={role} onChange={(e) => setRole(e.target.value)}>
        {ROLES.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
      {field("password", "Password", "password")}
    </FormDialog>
  );
}

function ResetPassword({ user, onClose }: { user: FabUser; onClose: () => void }) {
  const [password, setPassword] = useState("");
  const save = useMutation({
    mutationFn: async () =>
      must(
        await usersApi.PATCH("/auth/fab/v1/users/{username}", {
          params: { path: { username: user.username }, query: { update_mask: ["password"] } },
          body: { password },
        }),
      ),
    onSuccess: onClose,
  });
  return (
    <FormDialog
      title={`Reset the password of ${user.username}`}
      open
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      busy={save.isPending}
    >
      <label htmlFor="user-new-password">New password</label>
      <input
        id="user-new-password"
        type="password"
        required
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
    </FormDialog>
  );
}
