import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import { applyStoredTheme } from "./components/ThemeToggle.tsx";
import { noteAnswer, noteError } from "./connection.ts";
import "./style.css";

applyStoredTheme();
// Every read and change tells the connection banner whether the server answered (connection.ts).
const client = new QueryClient({
  queryCache: new QueryCache({ onError: noteError, onSuccess: noteAnswer }),
  mutationCache: new MutationCache({ onError: noteError, onSuccess: noteAnswer }),
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
});
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
