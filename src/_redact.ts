// The one redaction of secrets in messages, logs and records: URLs lose
// their userinfo (user and password), query string and fragment; malformed
// URLs (`postgresql://lamin:PW@[::1`) are redacted by pattern, not dropped;
// `password=...`-like parameters lose their values; and secrets the caller
// knows (a password parsed from a URL) are replaced wherever they appear.
// A leaf: imports nothing.

/** What a removed secret is replaced by. */
export const REDACTED = "***";

/** Known secrets shorter than this are not replaced literally (see {@linkcode redactText}). */
const MIN_LITERAL = 4;
const SCHEME = /^([a-z][a-z0-9+.-]*:)\/\//i;
/**
 * A URL inside a text: a scheme, `://`, then anything up to a space, quote or
 * angle bracket. The scheme is at most 64 characters from a word start: tried
 * from every word start of a long run such as `ACG-T-ACG-T…`, an unbounded one
 * scanned to the run's end each time (quadratic: minutes for a few MB).
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,63}:\/\/[^\s"'<>`]*/gi;
/** Trailing punctuation that ends a sentence rather than a URL: kept after redaction. */
const TRAILING = /[).,;:!\]}]+$/;
/** `name=value` pairs and `"name": "value"` members whose value is a secret. */
const SECRET_NAMES =
  "password|passwd|pwd|pass|secret|secret_?access_?key|session_?token|access_?token|" +
  "refresh_?token|id_?token|auth_?token|api_?key|apikey|token|signature|sig|credential|" +
  "x-amz-signature|x-amz-credential|x-amz-security-token|sslpassword|sslkey|client_?secret";
const SECRET_PARAM = new RegExp(
  `\\b(${SECRET_NAMES})(\\s*=\\s*)("[^"]*"|'[^']*'|[^\\s&;,)]+)`,
  "gi",
);
const SECRET_MEMBER = new RegExp(`("(?:${SECRET_NAMES})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, "gi");

/**
 * A URL fit for messages: userinfo replaced by `***@`, a query string by
 * `?***`, the fragment dropped. A malformed URL with a scheme is redacted
 * by pattern (everything up to the last `@` of its authority, and from the
 * first `?` or `#`); anything else becomes `<URL>`.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url);
  if (scheme) {
    try {
      const u = new URL(url);
      // With userinfo and an `@` in the path, the password may have held a `/`: by pattern.
      const ambiguous = (u.username || u.password) && u.pathname.includes("@");
      if (u.protocol.toLowerCase() === scheme[1].toLowerCase() && !ambiguous) {
        const auth = u.username || u.password ? `${REDACTED}@` : "";
        const query = u.search ? `?${REDACTED}` : "";
        // `host` of special schemes, or what non-special ones (postgresql:, s3:) keep there.
        return `${u.protocol}//${auth}${u.host}${u.pathname}${query}`;
      }
    } catch {
      // malformed: by pattern below
    }
    return redactByPattern(scheme[1], url.slice(scheme[0].length));
  }
  return "<URL>";
}

function redactByPattern(protocol: string, rest: string): string {
  const q = rest.search(/[?#]/);
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q >= 0 && rest[q] === "?" ? `?${REDACTED}` : "";
  // Userinfo ends at the last `@` (a password may hold `/`, `@`, `[`...).
  const at = beforeQuery.lastIndexOf("@");
  const hostAndPath = at < 0 ? beforeQuery : `${REDACTED}@${beforeQuery.slice(at + 1)}`;
  return `${protocol}//${hostAndPath}${query}`;
}

/**
 * A text (an error message, a log line) with every URL in it redacted
 * ({@linkcode redactUrl}), the values of secret-looking parameters
 * (`password=`, `token=`, `X-Amz-Signature=`, `"secretAccessKey": "..."`)
 * replaced by `***`, and each of `secrets` (known secret strings, e.g. a
 * password taken from a URL; those under 4 characters ignored) replaced wherever
 * it occurs, also percent-encoded.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of knownForms(secrets)) out = out.split(s).join(REDACTED);
  out = out.replace(URL_IN_TEXT, (m) => {
    const tail = TRAILING.exec(m)?.[0] ?? "";
    const url = m.slice(0, m.length - tail.length);
    // A bracket or parenthesis opened inside the URL belongs to it.
    const keep = tail && /[[(]/.test(url) && !/[\])]/.test(url) ? "" : tail;
    return redactUrl(keep ? url : m) + keep;
  });
  out = out.replace(SECRET_PARAM, (_m, name, eq) => `${name}${eq}${REDACTED}`);
  return out.replace(SECRET_MEMBER, (_m, head) => `${head}"${REDACTED}"`);
}

function knownForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    // Short ones would mangle the text (a password "p" in every word): URLs
    // and parameters holding them are redacted by pattern all the same.
    if (s.length < MIN_LITERAL || s === REDACTED) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    try {
      forms.add(decodeURIComponent(s));
    } catch {
      // not percent-encoded
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...forms].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * Redact, in place, an error and its whole `cause` chain (and the `errors`
 * of an AggregateError): `message`, `stack` and other string properties go
 * through {@linkcode redactText}; a string cause is replaced. Returns `e`.
 * Meant for errors of dependencies about to be wrapped or shown.
 */
export function redactError<T>(e: T, secrets: readonly string[] = []): T {
  const seen = new Set<unknown>();
  const walk = (x: unknown, depth: number): unknown => {
    if (typeof x === "string") return redactText(x, secrets);
    if (x === null || typeof x !== "object" || seen.has(x) || depth > 16) return x;
    seen.add(x);
    const o = x as Record<string, unknown>;
    for (const key of new Set([...Object.getOwnPropertyNames(o), "message", "stack"])) {
      let v: unknown;
      try {
        v = o[key];
      } catch {
        continue;
      }
      if (typeof v === "string") {
        const r = redactText(v, secrets);
        if (r !== v) setProp(o, key, r);
      } else if (key === "cause" || key === "errors" || key === "error") {
        const r = Array.isArray(v) ? v.map((c) => walk(c, depth + 1)) : walk(v, depth + 1);
        if (typeof v === "string" || Array.isArray(v)) setProp(o, key, r);
      }
    }
    return x;
  };
  walk(e, 0);
  return e;
}

function setProp(o: Record<string, unknown>, key: string, value: unknown): void {
  try {
    Object.defineProperty(o, key, { value, writable: true, configurable: true });
  } catch {
    try {
      o[key] = value;
    } catch {
      // a frozen object: nothing to do
    }
  }
}

/**
 * `url` without its password (also a `password=` query parameter), user,
 * host and path kept: a location another process can use with credentials
 * of its own (a pgpass file). A URL that does not parse is redacted
 * ({@linkcode redactUrl}).
 */
export function stripPassword(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactUrl(url);
  }
  if (u.pathname.includes("@") && (u.username || u.password)) return redactUrl(url);
  u.password = "";
  for (const k of [...u.searchParams.keys()]) {
    if (new RegExp(`^(${SECRET_NAMES})$`, "i").test(k)) u.searchParams.delete(k);
  }
  return u.href;
}

/**
 * The password of a URL (percent-decoded and as written), also of a
 * malformed one, and the value of a `password=` query parameter: the
 * strings {@linkcode redactText} should remove wherever they occur.
 */
export function urlSecrets(url: string): string[] {
  const out: string[] = [];
  try {
    const u = new URL(url);
    if (u.password) out.push(u.password);
    for (const [k, v] of u.searchParams) {
      if (new RegExp(`^(${SECRET_NAMES})$`, "i").test(k)) out.push(v);
    }
  } catch {
    // malformed: by pattern
  }
  const scheme = SCHEME.exec(url);
  if (scheme) {
    const rest = url.slice(scheme[0].length);
    const authority = rest.slice(0, Math.max(rest.search(/[?#]/), 0) || rest.length);
    const at = authority.lastIndexOf("@");
    const colon = authority.indexOf(":");
    if (at > 0 && colon >= 0 && colon < at) out.push(authority.slice(colon + 1, at));
  }
  for (const m of url.matchAll(SECRET_PARAM)) out.push(m[3].replace(/^["']|["']$/g, ""));
  return [...new Set(out.filter((s) => s !== ""))];
}

/**
 * `name = "value"` and `name: "value"` in code (assignments, object literals,
 * YAML), the name bare or quoted, with a type annotation or not
 * (`pw: string = "…"`); whether the name is a secret's is {@linkcode secretName}'s call.
 */
const ASSIGNED_IN_CODE = new RegExp(
  `(?<![\\w$])("[\\w$-]+"|'[\\w$-]+'|[A-Za-z_$][\\w$]*)` +
    `(\\s*(?::\\s*[\\w$.]+(?:<[^<>\\n=]*>)?(?:\\[\\])*\\s*(?==))?[:=]\\s*)` +
    `("[^"\\n]*"|'[^'\\n]*'|\`[^\`\\n]*\`)`,
  "g",
);
/** A secret's name ending a name, after a `_` or `-` (camelCase is split there first). */
const SECRET_SUFFIX = new RegExp(`(?:^|[-_])(?:${SECRET_NAMES})$`, "i");

/**
 * Whether a name in code holds a secret: a secret's name (`password`), or a
 * name ending in one as a word (`DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`,
 * `dbPassword`, `GITHUB_TOKEN`), not merely in its letters (`bypass`).
 */
function secretName(name: string): boolean {
  return SECRET_SUFFIX.test(name.replace(/([a-z0-9])([A-Z])/g, "$1_$2"));
}
/** An AWS access key id (long-term `AKIA…` or temporary `ASIA…`). */
const AWS_KEY_ID = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g;
/**
 * A URL's userinfo (`scheme://user:password@`), wherever it appears in a text
 * (scheme: as above). The password does not run past another `://`: from every
 * URL start of a long run without an `@` (`a://b:a://b:…`), the search for it
 * scanned to the run's end each time (quadratic).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]{0,63}:\/\/)[^\s"'<>`/@]*:(?:(?!:\/\/)[^\s"'<>`@])*@/gi;

/**
 * Code as stored in the registry (a script's text, a notebook's cells):
 * unchanged except for secrets written into it — a URL's password
 * (`postgresql://ana:***@db`), the values of secret-named assignments and
 * members (`password = "***"`, `DB_PASSWORD = "***"`, `secretAccessKey: "***"`,
 * `"token": "***"`) and AWS access key ids. Query strings are kept (they are
 * code, not secrets, more often than not).
 */
export function redactSource(code: string): string {
  return code
    .replace(USERINFO, (_m, scheme) => `${scheme}${REDACTED}@`)
    .replace(SECRET_MEMBER, (_m, head) => `${head}"${REDACTED}"`)
    .replace(
      ASSIGNED_IN_CODE,
      (m, name: string, eq: string, v: string) =>
        secretName(name.replace(/^["']|["']$/g, "")) ? `${name}${eq}${v[0]}${REDACTED}${v[0]}` : m,
    )
    .replace(AWS_KEY_ID, REDACTED);
}
