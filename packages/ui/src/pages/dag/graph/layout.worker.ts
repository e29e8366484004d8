/**
 * The fast layered layout (layered.ts), off the main thread: for graphs too big for ELK, which takes
 * seconds on thousands of nodes (about 4 s for 5,000 tasks even with its cheapest options, measured
 * with elkjs 0.12 on this machine) where the graph must open in well under that.
 */
import { answerWith } from "./answer.ts";
import { layeredLayout } from "./layered.ts";

self.onmessage = answerWith(async (request) => layeredLayout(request));
