/** A layout worker's message handler: lays out, times it, and posts the answer (its arrays moved, not copied). */
import type { LayoutAnswer, LayoutRequest, LayoutResult } from "./types.ts";

export function answerWith(layout: (request: LayoutRequest) => Promise<LayoutResult>) {
  return async (event: MessageEvent<LayoutRequest>) => {
    const request = event.data;
    const began = performance.now();
    let answer: LayoutAnswer;
    try {
      answer = { key: request.key, ok: true, ms: performance.now() - began, ...(await layout(request)) };
      answer.ms = performance.now() - began;
    } catch (error) {
      answer = { key: request.key, ok: false, error: String((error as Error)?.message ?? error) };
    }
    const transfer = answer.ok
      ? [answer.xs, answer.ys, answer.ws, answer.hs].flatMap((a) => (a ? [a.buffer] : []))
      : [];
    (self as unknown as Worker).postMessage(answer, transfer);
  };
}
