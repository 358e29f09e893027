import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { UnusualHours } from "./UnusualHours";

afterEach(cleanup);

describe("UnusualHours", () => {
  it("says what was unusual, how much, and what is usual", () => {
    render(
      <UnusualHours
        list={[
          { metric: "response_time_ms", start: "2026-12-01T09:00:00.000Z", value: 412.4, expected: 101.2, score: 9.1 },
          { metric: "error_rate", start: "2026-12-01T10:00:00.000Z", value: 0.25, expected: 0.01, score: 12 },
        ]}
      />,
    );
    const items = screen.getAllByTestId("anomaly").map((li) => li.textContent);
    expect(items[0]).toMatch(/response time \(p95\) 412 ms, usually 101 ms/);
    expect(items[1]).toMatch(/error rate 25\.0 %, usually 1\.0 %/);
  });
});
