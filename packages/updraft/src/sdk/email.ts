/**
 * Sending email from user code (the `email` operator, `smtpNotifier`, `emailOnFailure`): over the
 * `smtp` connection `[email] email_conn_id` (default `smtp_default`), else the `[smtp]` section.
 * Contract shared by callbacks and notifiers (issue 20); the implementation lands with the notifiers.
 */
import type { CallbackContext } from "./callback-types.ts";

export interface EmailMessage {
  to: string | readonly string[];
  subject: string;
  html: string;
  cc?: string | readonly string[];
  bcc?: string | readonly string[];
  /** Sender; default: the connection's `from_email` extra, else `[smtp] smtp_mail_from`. */
  from?: string;
  /** Paths of files to attach. */
  files?: readonly string[];
}

export interface SendEmailOptions {
  /** The `smtp` connection to send through; default `[email] email_conn_id` ("smtp_default"). */
  connId?: string;
}

/** Sends one message; rejects with a clear error (which connection, what the server said). */
export async function sendEmail(message: EmailMessage, options: SendEmailOptions = {}): Promise<void> {
  void message;
  void options;
  throw new Error("sendEmail is not implemented yet");
}

/** The alert `emailOnFailure` / `emailOnRetry` send (Airflow's default subject and body). */
export async function sendTaskAlertEmail(
  event: "failure" | "retry",
  to: readonly string[],
  context: CallbackContext,
): Promise<void> {
  void event;
  void to;
  void context;
  throw new Error("sendTaskAlertEmail is not implemented yet");
}
