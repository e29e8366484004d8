/** Light, dark or the system's choice, remembered in this browser; the theme is <html data-theme>. */
import { useEffect, useState } from "react";

type Theme = "system" | "light" | "dark";
const KEY = "updraft_theme";

export function applyStoredTheme(): void {
  const theme = (localStorage.getItem(KEY) as Theme | null) ?? "system";
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(KEY) as Theme | null) ?? "system");
  useEffect(() => {
    localStorage.setItem(KEY, theme);
    applyStoredTheme();
  }, [theme]);
  return (
    <select aria-label="Theme" value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
      <option value="system">System theme</option>
      <option value="light">Light</option>
      <option value="dark">Dark</option>
    </select>
  );
}
