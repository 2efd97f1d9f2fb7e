// How the edge worker answers a request that failed: JSON `{ error, code }` with a status
// taken from the error's code, never from its message. The package throws Errors carrying
// a `code`; the worker's own checks use the codes below. Anything else — an engine error, a
// bug — is a 500 with a generic message: its text and stack stay in the worker's log.

/** HTTP status of each code a client can cause. */
export const STATUS = Object.freeze({
  // From the package (rerankWithProfile):
  E_TOO_MANY: 413, // more candidates than one call accepts
  E_CANDIDATES: 400,
  E_PROFILE: 400,
  E_OPTIONS: 400,
  E_EVENT: 400,
  // From the worker:
  E_BODY_TOO_LARGE: 413,
  E_JSON: 400,
  E_METHOD: 405,
  E_NOT_FOUND: 404,
});

export const INTERNAL = Object.freeze({ status: 500, body: { error: 'internal error: the request could not be reranked', code: 'E_INTERNAL' } });

/** An Error with a code, for the worker's own checks. */
export function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

/**
 * The answer to a thrown value: `{ status, body }`, and whether it is internal (to log).
 * Only the message of an Error with a known code reaches the client.
 */
export function errorAnswer(e) {
  const code = e instanceof Error && typeof e.code === 'string' && Object.hasOwn(STATUS, e.code) ? e.code : null;
  if (code === null) return { ...INTERNAL, internal: true };
  return { status: STATUS[code], body: { error: e.message, code }, internal: false };
}
