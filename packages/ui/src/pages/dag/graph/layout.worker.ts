/**
 * The fast layered layout (layered.ts), off the main thread: for graphs too big for ELK, which takes
 * seconds on thousands of nodes (about 4 s for 5,000 tasks even with its cheapest options, measured
 * with elkjs 0.12 on this machine) where the graph must open in well under that. Expanded task
 * groups are drawn as boxes around their tasks once those are laid out (boxes.ts).
 */
import { answerWith } from "./answer.ts";
import { withBoxes } from "./boxes.ts";
import { layeredLayout } from "./layered.ts";

self.onmessage = answerWith(async (request) => withBoxes(request, (r) => layeredLayout(r)));
