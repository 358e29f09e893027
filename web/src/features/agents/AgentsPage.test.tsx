import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AgentSpool } from "../../api/types";
import { SpoolCell } from "./AgentsPage";

const spool = (over: Partial<AgentSpool>): AgentSpool => ({
  depth: 1200,
  bytes: 3 * 1024 * 1024,
  dropped_total: 0,
  oldest_age: 42,
  last_drop: null,
  dropping: false,
  ...over,
});

describe("SpoolCell", () => {
  it("shows what waits and no drop badge when nothing was dropped", () => {
    const { container } = render(<SpoolCell spool={spool({})} />);
    expect(container.textContent).toBe("1,200 waiting, oldest 42 s · 3.0 MB");
    expect(container.querySelector("[data-dropping]")).toBeNull();
  });

  it("warns while the spool drops, with the running total", () => {
    const { container } = render(<SpoolCell spool={spool({ dropped_total: 72668, dropping: true, last_drop: "2026-11-30T12:09:00Z" })} />);
    const badge = container.querySelector<HTMLElement>("[data-dropping]");
    expect(badge?.textContent).toBe("⚠ dropping: 72,668 dropped");
    expect(badge?.dataset.dropping).toBe("true");
  });

  it("keeps the total without the warning once drops are old", () => {
    const { container } = render(<SpoolCell spool={spool({ depth: 0, oldest_age: null, dropped_total: 5, last_drop: "2026-11-01T00:00:00Z" })} />);
    expect(container.textContent).toBe("0 waiting · 3.0 MB5 dropped");
    expect(container.querySelector<HTMLElement>("[data-dropping]")?.dataset.dropping).toBe("false");
  });

  it("says the numbers are from the last contact once the agent is gone", () => {
    const { container } = render(<SpoolCell spool={spool({})} connected={false} />);
    expect(container.textContent).toBe("at last contact: 1,200 waiting, oldest 42 s · 3.0 MB");
  });

  it("says nothing before the first heartbeat", () => {
    const { container } = render(<SpoolCell spool={null} />);
    expect(container.textContent).toBe("—");
  });
});
