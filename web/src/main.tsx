import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";
import { UndoToastProvider } from "./features/audit/undo";
import "./index.css";
import { applyTheme, storedChoice } from "./ui/theme";

// Before the first paint: no flash of the other theme.
applyTheme(storedChoice());

// Installable, and usable offline with the statuses last known (public/sw.js).
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("service worker not registered", e));
}

const client = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <UndoToastProvider>
          <App />
        </UndoToastProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
