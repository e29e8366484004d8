/**
 * A modal confirmation: the native <dialog> (focus trapped, Escape closes), with a title, a body (a
 * form or a preview of what the action will touch) and the actions.
 */
import { useEffect, useRef, type ReactNode } from "react";

export function Dialog({
  title,
  open,
  onClose,
  children,
  actions,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  actions?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-label={title} onClose={onClose}>
      <header>
        <h2>{title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="dialog-body">{open && children}</div>
      {actions && <footer>{actions}</footer>}
    </dialog>
  );
}
