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
