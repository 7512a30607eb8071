/** A list of values typed one at a time (Enter adds one), with suggestions. */
import { type KeyboardEvent, useId, useState } from 'react';
export function ListInput({
  label,
  values,
  onChange,
  suggestions,
  placeholder,
  invalid,
}: {
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  suggestions?: readonly string[];
  placeholder?: string;
  invalid?: boolean;
}) {
  const [text, setText] = useState('');
  const listId = useId();
  const add = () => {
    const value = text.trim();
    if (value && !values.includes(value)) onChange([...values, value]);
    setText('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      add();
    } else if (event.key === 'Backspace' && !text && values.length) {
      onChange(values.slice(0, -1));
    }
  };
  return (
    <div className="list-input">
      {values.length ? (
        <ul className="chips" aria-label={`${label}: values`}>
          {values.map((value) => (
            <li key={value} className="chip">
              {value}{' '}
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove ${value}`}
                onClick={() => onChange(values.filter((item) => item !== value))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <input
        aria-label={label}
        aria-invalid={invalid || undefined}
        value={text}
        list={suggestions?.length ? listId : undefined}
        placeholder={placeholder ?? (values.length ? 'add another, then Enter' : 'type, then Enter')}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={add}
      />
      {suggestions?.length ? (
        <datalist id={listId}>
          {suggestions.map((value) => (
            <option key={value} value={value} />
          ))}
        </datalist>
      ) : null}
    </div>
  );
}
