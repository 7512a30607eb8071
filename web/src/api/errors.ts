/**
 * The admin API's errors are RFC 9457 problem documents; the console keeps them whole so pages can
 * show the `detail`, the offending `field` and the `fix` (components/ui.tsx ErrorBox).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fix: string | undefined;
  readonly field: string | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, problem: Record<string, unknown>) {
    const detail =
      typeof problem.detail === 'string'
        ? problem.detail
        : `The hub answered ${status} ${problem.title ?? ''}`;
    super(detail);
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    this.detail = detail;
    this.fix = typeof problem.fix === 'string' ? problem.fix : undefined;
    this.field = typeof problem.field === 'string' ? problem.field : undefined;
    this.requestId = typeof problem.requestId === 'string' ? problem.requestId : undefined;
  }
}

/** Anything thrown while reading or writing, as an ApiError (a client-side check failing too). */
export function toApiError(caught: unknown): ApiError {
  if (caught instanceof ApiError) return caught;
  return new ApiError(0, {
    code: 'client_error',
    detail: caught instanceof Error ? caught.message : String(caught),
  });
}
