import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ToastProvider } from "../../ui/toast";
import { ServiceDialog } from "./ServiceDialog";

afterEach(cleanup);

beforeAll(() => {
  // jsdom has <dialog> without its modal methods.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false;
  };
});

function open(draft?: object) {
  localStorage.clear();
  if (draft) localStorage.setItem("lightbulb:service-draft", JSON.stringify(draft));
  render(
    <QueryClientProvider client={new QueryClient()}>
      <ToastProvider>
        <ServiceDialog open onClose={() => {}} />
      </ToastProvider>
    </QueryClientProvider>,
  );
}

describe("ServiceDialog", () => {
  it("holds the first step until the basic fields are valid", async () => {
    open();
    fireEvent.change(screen.getByLabelText("Service id"), { target: { value: "Bad Id" } });
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText(/lowercase letters, digits/)).toBeTruthy();
    expect(screen.getByText(/a label is required/)).toBeTruthy();
    expect(screen.queryByLabelText("Check configuration")).toBeNull();
  });

  it("validates the JSON configuration while typing and shows a preview", async () => {
    open();
    fireEvent.change(screen.getByLabelText("Service id"), { target: { value: "web" } });
    fireEvent.change(screen.getByLabelText("Label", { exact: true }), { target: { value: "Web" } });
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    const config = await screen.findByLabelText("Check configuration");
    fireEvent.change(config, { target: { value: '{"url": ' } });
    expect(screen.getByRole("alert").textContent).toMatch(/^not JSON/);
    expect((screen.getByRole("button", { name: "Next" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(config, { target: { value: "{}" } });
    expect(screen.getByRole("alert").textContent).toBe("`url` is required for api_endpoint");
    fireEvent.change(config, { target: { value: '{"url": "http://127.0.0.1:9/health"}' } });
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(screen.getByTestId("preview").textContent).toContain("http://127.0.0.1:9/health"));
    expect(screen.getByRole("button", { name: "Create" })).toBeTruthy();
  });

  it("offers an unsaved draft back", async () => {
    open({ basic: { service_id: "draft-svc", label: "D", service_type: "api_endpoint", labels: "" }, config: "{}" });
    fireEvent.click(await screen.findByRole("button", { name: "Restore" }));
    await waitFor(() => expect((screen.getByLabelText("Service id") as HTMLInputElement).value).toBe("draft-svc"));
  });
});
