import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { StatusBadge } from "./StatusBadge";
import { STATUSES, statusStyle } from "./statuses";

describe("StatusBadge", () => {
  it("shows a distinct label and icon for every status code", () => {
    const seen = new Set<string>();
    for (const s of STATUSES) {
      const { unmount } = render(<StatusBadge code={s.code} />);
      const badge = screen.getByTitle(s.name);
      expect(badge.textContent).toBe(`${s.icon}${s.label}`);
      expect(badge.dataset.status).toBe(s.name);
      seen.add(s.icon);
      seen.add(s.label);
      unmount();
    }
    // Never colour alone: icons and labels all differ.
    expect(seen.size).toBe(STATUSES.length * 2);
  });

  it("treats an out-of-range code as unknown", () => {
    expect(statusStyle(9).name).toBe("UNKNOWN");
    render(<StatusBadge code={42} />);
    expect(screen.getByTitle("UNKNOWN")).toBeTruthy();
  });
});
