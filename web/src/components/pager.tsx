/** Cursor paging: the next page, and back to the first. */
export function Pager({
  after,
  next,
  onPage,
}: {
  after: string;
  next: string | null;
  onPage: (cursor: string) => void;
}) {
  if (!after && !next) return null;
  return (
    <div className="actions">
      {after ? (
        <button type="button" className="secondary small" onClick={() => onPage('')}>
          First page
        </button>
      ) : null}
      {next ? (
        <button type="button" className="secondary small" onClick={() => onPage(next)}>
          Next page
        </button>
      ) : null}
    </div>
  );
}
