import { useState, type FormEvent } from "react";
import { login } from "../api.ts";

export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    const failed = await login(String(form.get("username")), String(form.get("password")));
    setBusy(false);
    if (failed) setError(failed);
    else onLoggedIn();
  };
  return (
    <main className="center">
      <form className="card login" onSubmit={submit} aria-label="Log in">
        <h1>Updraft</h1>
        <label>
          Username
          <input name="username" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
