/** A fieldset of checkboxes over one options object: "Also clear: upstream, downstream, …". */
import type { ReactNode } from "react";

export function OptionChecks<K extends string>({
  legend,
  labels,
  value,
  onChange,
}: {
  legend: string;
  labels: readonly (readonly [K, string])[];
  value: Record<K, boolean>;
  onChange: (value: Record<K, boolean>) => void;
}) {
  return (
    <fieldset className="ti-options">
      <legend>{legend}</legend>
      {labels.map(([option, label]) => (
        <label key={option}>
          <input
            type="checkbox"
            checked={value[option]}
            onChange={(e) => onChange({ ...value, [option]: e.target.checked })}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

/** A dialog's Cancel and confirm buttons. */
export function ConfirmActions({
  onCancel,
  onConfirm,
  disabled,
  className = "primary",
  children,
}: {
  onCancel: () => void;
  onConfirm: () => void;
  disabled: boolean;
  className?: string;
  children: ReactNode;
}) {
  return (
    <>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="button" className={className} disabled={disabled} onClick={onConfirm}>
        {children}
      </button>
    </>
  );
}
