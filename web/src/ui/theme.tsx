// Light and dark themes: the system setting by default, or the user's
// choice (kept in this browser). The dark palette is src/dark.css.
import { createContext, useEffect, useState } from "react";

export type ThemeChoice = "system" | "light" | "dark";

/** The theme in force, for parts drawn outside the CSS palette (the map). */
export const ThemeContext = createContext<"light" | "dark">("light");

const KEY = "lightbulb.theme";
const DARK = "(prefers-color-scheme: dark)";

export function storedChoice(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return v === "light" || v === "dark" ? v : "system";
}

/** Sets `data-theme` on <html>; "light" or "dark" as applied. */
export function applyTheme(choice: ThemeChoice): "light" | "dark" {
  const dark = choice === "dark" || (choice === "system" && window.matchMedia(DARK).matches);
  const theme = dark ? "dark" : "light";
  document.documentElement.dataset.theme = theme;
  return theme;
}

/** The theme in force, following the system while the choice is "system". */
export function useTheme() {
  const [choice, setChoice] = useState<ThemeChoice>(storedChoice);
  const [applied, setApplied] = useState(() => applyTheme(choice));
  useEffect(() => {
    setApplied(applyTheme(choice));
    if (choice !== "system") return;
    const media = window.matchMedia(DARK);
    const follow = () => setApplied(applyTheme("system"));
    media.addEventListener("change", follow);
    return () => media.removeEventListener("change", follow);
  }, [choice]);
  const choose = (c: ThemeChoice) => {
    if (c === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, c);
    setChoice(c);
  };
  return { choice, applied, choose };
}

export function ThemeToggle({ choice, choose }: { choice: ThemeChoice; choose: (c: ThemeChoice) => void }) {
  return (
    <label className="flex items-center gap-1 text-sm text-slate-700">
      Theme
      <select
        className="rounded-md border border-slate-300 bg-white px-1 py-0.5 text-slate-800"
        value={choice}
        onChange={(e) => choose(e.target.value as ThemeChoice)}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
