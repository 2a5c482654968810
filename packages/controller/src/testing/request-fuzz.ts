/**
 * fast-check arbitraries for fuzzing HTTP endpoints: values shaped by an OpenAPI (JSON Schema)
 * document and then broken (wrong types, unknown and prototype-polluting keys), hostile JSON (deep
 * nesting, huge strings, odd unicode), bytes that are not JSON, wrong content types, hostile path
 * segments and query strings. Used by the `*.fuzz.test.ts` suites of the REST, MAAS and metadata
 * APIs; pure (no I/O).
 */
import fc from 'fast-check';

/** The part of JSON Schema 2020-12 that the generated OpenAPI document uses. */
export interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly allOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
}

/** One operation of an OpenAPI document, as the fuzzers need it. */
export interface Operation {
  readonly method: string;
  /** The templated path, e.g. `/api/v1/machines/{id}`. */
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly query: readonly { readonly name: string; readonly schema: JsonSchema }[];
  /** The body's media type and schema, when the operation takes a body. */
  readonly body?: { readonly mediaType: string; readonly schema: JsonSchema } | undefined;
}

interface OpenApiDocument {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, JsonSchema>> };
}

interface OpenApiOperation {
  readonly parameters?: readonly { name: string; in: string; schema?: JsonSchema }[];
  readonly requestBody?: { readonly content: Readonly<Record<string, { schema?: JsonSchema }>> };
}

/** Every operation of `doc`, in document order. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = op.parameters ?? [];
      const content = Object.entries(op.requestBody?.content ?? {})[0];
      out.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        body:
          content === undefined
            ? undefined
            : { mediaType: content[0], schema: content[1].schema ?? {} },
      });
    }
  }
  return out;
}

/** Keys that pollute prototypes when code merges objects carelessly. */
export const POLLUTING_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];

/** Strings that break naive code: empty, huge, control characters, lone surrogates, RTL, NUL. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff\ud800',
    '\u202e\u0041',
    '🚀'.repeat(40),
    'ı̇ẞﬃ',
    '../../../../etc/passwd',
    '%00%2F%2e%2e',
    '${7*7}{{7*7}}',
    "'; DROP TABLE machines; --",
    '<script>alert(1)</script>',
    'NaN',
    '-0',
    '1e309',
    '9007199254740993',
    'true',
    'null',
    '__proto__',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.nat({ max: 6_000 }).map((n) => 'x'.repeat(n)),
);

/** Numbers a JSON decoder accepts but a validator must not take at face value. */
const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 0.5, 1e308, -1e308, 2 ** 53, 2 ** 31, 2 ** 32, -(2 ** 31), 1e-300),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any JSON value, biased towards nasty strings and numbers, polluting keys and depth. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    nastyString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string()), tie('value'), {
      maxKeys: 5,
    }),
  ),
})).value;

/** Builds `[[[…]]]` or `{"a":{"a":…}}` nested `depth` times, as text (JSON.stringify would too). */
export function nestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function resolve(schema: JsonSchema, doc: OpenApiDocument): JsonSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.split('/').at(-1) ?? '';
  return doc.components?.schemas?.[name] ?? {};
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

/** A string the schema likely accepts: from its pattern when fast-check can read it. */
function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, 80);
  if (schema.pattern !== undefined) {
    try {
      const re = new RegExp(schema.pattern);
      return fc
        .stringMatching(re)
        .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity));
    } catch {
      // An unsupported pattern: fall through to plain strings, which the validator will refuse.
    }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

/**
 * Values of the shape `schema` describes (most of them valid, some not where a pattern or a
 * format is beyond this generator): the starting point that {@link brokenValue} mutates.
 */
export function valueFor(
  schema: JsonSchema,
  doc: OpenApiDocument,
  depth = 0,
): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  if (depth > 6) return fc.constant(null);
  if (s.enum !== undefined && s.enum.length > 0) return fc.constantFrom(...s.enum);
  const alternatives = s.allOf ?? s.anyOf ?? s.oneOf;
  if (alternatives !== undefined && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((a) => valueFor(a, doc, depth + 1)));
  }
  const types = typesOf(s);
  const arbitraries = types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: s.minimum ?? -1_000, max: s.maximum ?? 100_000 });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'string':
        return stringFor(s);
      case 'array':
        return fc.array(valueFor(s.items ?? {}, doc, depth + 1), {
          minLength: s.minItems ?? 0,
          maxLength: Math.min(s.maxItems ?? 4, 4),
        });
      case 'object': {
        const properties = s.properties ?? {};
        const required = new Set(s.required ?? []);
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, p] of Object.entries(properties))
          model[name] = valueFor(p, doc, depth + 1);
        return fc.record(model, { requiredKeys: [...required].filter((k) => k in properties) });
      }
      default:
        return hostileJson;
    }
  });
  return arbitraries.length === 0 ? hostileJson : fc.oneof(...arbitraries);
}

/** A JSON value of a different type from `value`. */
function otherType(value: unknown): fc.Arbitrary<unknown> {
  return hostileJson.filter(
    (v) => typeof v !== typeof value || Array.isArray(v) !== Array.isArray(value),
  );
}

/**
 * A schema-shaped value with one thing broken: a field of the wrong type, a field removed, an
 * unknown or prototype-polluting key added, or a string field made huge or nasty.
 */
export function brokenValue(schema: JsonSchema, doc: OpenApiDocument): fc.Arbitrary<unknown> {
  return fc
    .tuple(valueFor(schema, doc), fc.nat(), fc.nat({ max: 4 }), hostileJson, nastyString)
    .chain(([value, which, how, extra, text]) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return otherType(value);
      }
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const key = keys[which % Math.max(keys.length, 1)];
      switch (how) {
        case 0:
          if (key === undefined) break;
          return otherType(copy[key]).map((v) => ({ ...copy, [key]: v }));
        case 1:
          return fc.constant(Object.fromEntries(Object.entries(copy).filter(([k]) => k !== key)));
        case 2:
          if (key !== undefined) copy[key] = text;
          break;
        case 3:
          // JSON.parse makes `__proto__` an own key; a careless merge then pollutes prototypes.
          return fc.constant(JSON.parse(withPollutingKeys(JSON.stringify(copy))) as unknown);
        default:
          copy[`unknown_${which % 7}`] = extra;
      }
      return fc.constant(copy);
    });
}

/** `{"__proto__":…,"constructor":…, …rest}` from the JSON text of an object. */
export function withPollutingKeys(objectText: string): string {
  const rest = objectText.slice(1);
  const head =
    '{"__proto__":{"polluted":true,"role":"admin"},"constructor":{"prototype":{"polluted":true}}';
  return rest === '}' ? `${head}}` : `${head},${rest}`;
}

/** A request body: its bytes or text and the content type sent with it (if any). */
export interface FuzzBody {
  readonly label: string;
  readonly body: string | Uint8Array | undefined;
  readonly contentType: string | undefined;
}

const json = (label: string, value: unknown): FuzzBody => ({
  label,
  body: JSON.stringify(value),
  contentType: 'application/json',
});

/**
 * Bodies for an operation: schema-shaped but broken, random JSON, deep nesting, huge values,
 * bytes that are not JSON or not UTF-8, and JSON under the wrong (or no) content type.
 */
export function bodyFor(operation: Operation, doc: OpenApiDocument): fc.Arbitrary<FuzzBody> {
  const schema = operation.body?.schema ?? {};
  return fc.oneof(
    { weight: 4, arbitrary: brokenValue(schema, doc).map((v) => json('broken', v)) },
    { weight: 2, arbitrary: valueFor(schema, doc).map((v) => json('shaped', v)) },
    { weight: 2, arbitrary: hostileJson.map((v) => json('random', v)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 1, max: 20_000 }),
          fc.constantFrom('array' as const, 'object' as const),
        )
        .map(([depth, kind]) => ({
          label: `nested ${kind} ${depth}`,
          body: nestedJson(depth, kind),
          contentType: 'application/json',
        })),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({
        label: 'bytes',
        body: bytes,
        contentType: 'application/json',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{"a":',
          '{"a":1,}',
          "{'a':1}",
          '\ufeff{}',
          '{"a":1}{"b":2}',
          'NaN',
          '',
          ' ',
          '{"\\ud800":"\\udfff"}',
          '{"a":1e999999}',
          '[' + '1,'.repeat(1_500) + '1]',
        )
        .map((text) => ({ label: 'malformed', body: text, contentType: 'application/json' })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valueFor(schema, doc),
          fc.constantFrom(
            undefined,
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data',
            'multipart/form-data; boundary=x',
            'application/json; charset=utf-16',
            'application/json; charset=latin1',
            'application/merge-patch+json',
            'application/octet-stream',
            'application/xml',
            '*/*',
            'application/json, text/plain',
            'garbage',
          ),
        )
        .map(([value, contentType]) => ({
          label: `as ${contentType ?? 'no content type'}`,
          body: JSON.stringify(value),
          contentType,
        })),
    },
  );
}

/** Path segments that are not ids: traversal, encoded slashes, bad escapes, huge, unicode. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E%2F%2E%2E',
    '..%2F..%2Fetc%2Fpasswd',
    'a%2Fb',
    'a%5Cb',
    '%00',
    '%',
    '%zz',
    '%C0%AF',
    '%FF%FE',
    '%ED%A0%80',
    'nosuch',
    '0',
    '-1',
    '1e309',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '%20',
    '%F0%9F%9A%80',
    'me',
    'current',
  ),
  fc.nat({ max: 9_000 }).map((n) => 'a'.repeat(n + 1)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
  fc
    .string({ unit: 'binary', minLength: 1, maxLength: 20 })
    .map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))),
);

/**
 * A query string (without `?`) for an operation: its declared parameters given shaped, nasty or
 * repeated values, unknown parameters, and malformed escapes.
 */
export function queryFor(operation: Operation, doc: OpenApiDocument): fc.Arbitrary<string> {
  const declared = operation.query.map((q) =>
    fc.option(
      fc
        .oneof(
          valueFor(q.schema, doc).map((v) => encodeURIComponent(String(v))),
          nastyString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))),
          fc.constantFrom(
            '',
            '%',
            '%zz',
            '1e309',
            '-1',
            '0x10',
            '1.5',
            ' 1',
            'NaN',
            '99999999999999999999',
          ),
        )
        .map((v) => `${q.name}=${v}`),
      { nil: undefined },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...declared),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        {
          weight: 1,
          arbitrary: fc.array(
            fc.constantFrom(
              'colour=red',
              'limit=1&limit=2',
              '__proto__=1',
              '=',
              '&&',
              'a[b]=c',
              '%zz=1',
            ),
            { minLength: 1, maxLength: 2 },
          ),
        },
      ),
    )
    .map(([parts, extra]) => [...parts.filter((p) => p !== undefined), ...extra].join('&'));
}
