// Bitrix24's REST error envelope: HTTP 4xx/5xx with {"error": code, "error_description": text}.
// Codes and texts are the documented ones (crm-apis.md §1.12, the methods' pages, the core source);
// note that some are an EMPTY code (finish/attachRecord "Call is not found", crm.*.get "Not found").

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** `throw new \Bitrix\Rest\RestException('…')` in the core: ERROR_CORE with HTTP 400. */
export const coreError = (description: string): RestError => new RestError(400, 'ERROR_CORE', description);
/** An error the core raises with an empty code (the caller must match on the description). */
export const emptyCodeError = (description: string): RestError => new RestError(400, '', description);

export const SYSTEM_ERRORS = {
  noAuth: () => new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data'),
  invalidToken: () => new RestError(401, 'invalid_token', 'The access token provided is invalid.'),
  expiredToken: () => new RestError(401, 'expired_token', 'The access token provided has expired.'),
  insufficientScope: (by: 'webhook' | 'oauth') =>
    new RestError(403, 'insufficient_scope', `The request requires higher privileges than provided by the ${by === 'webhook' ? 'webhook token' : 'access token'}`),
  methodNotFound: () => new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!'),
  queryLimit: () => new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'),
  operationTimeLimit: () => new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.'),
  batchLength: () => new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded'),
  batchMethod: () => new RestError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage'),
  internal: () => new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'),
} as const;
