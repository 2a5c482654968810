import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOAuthHeader, encodeOAuthHeader, type OAuthCredentials } from './oauth-header.ts';

const CK = 'CK'.repeat(12);
const TK = 'TK'.repeat(12);
const TS = 'TS'.repeat(12);

// What Debian 12's python3-oauthlib 3.2.2 (cloud-init's signer) sent for these credentials:
// oauth1.Client(CK, client_secret='', resource_owner_key=TK, resource_owner_secret=TS,
//   signature_method=SIGNATURE_PLAINTEXT, timestamp='1764200000', nonce='1234…').sign(url)
const FROM_OAUTHLIB =
  'OAuth oauth_nonce="123456789012345678901234567890", oauth_timestamp="1764200000", ' +
  'oauth_version="1.0", oauth_signature_method="PLAINTEXT", ' +
  `oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature="%26${TS}"`;

function decoded(header: string): OAuthCredentials {
  const r = decodeOAuthHeader(header);
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
}

describe('decodeOAuthHeader', () => {
  it('reads the header oauthlib (cloud-init) sends', () => {
    expect(decoded(FROM_OAUTHLIB)).toEqual({
      consumerKey: CK,
      token: TK,
      consumerSecret: '',
      tokenSecret: TS,
      nonce: '123456789012345678901234567890',
      timestamp: '1764200000',
    });
  });

  it('takes keys in any order, a realm, unquoted values and loose spacing', () => {
    const header =
      `oauth  realm="ingot",oauth_signature=%26${TS} ,  oauth_token="${TK}",` +
      `oauth_signature_method=PLAINTEXT,oauth_consumer_key="${CK}"`;
    expect(decoded(header)).toMatchObject({ consumerKey: CK, token: TK, tokenSecret: TS });
  });

  it('percent-decodes values, then the signature parts again (RFC 5849 §3.4.4)', () => {
    const header =
      'OAuth oauth_consumer_key="a%20b", oauth_token="t%2Cok", ' +
      'oauth_signature_method="PLAINTEXT", oauth_signature="c%2526s%26x%252Cy"';
    expect(decoded(header)).toMatchObject({
      consumerKey: 'a b',
      token: 't,ok',
      consumerSecret: 'c&s',
      tokenSecret: 'x,y',
    });
  });

  it('keeps a comma inside a quoted value', () => {
    const header = `OAuth oauth_consumer_key="${CK}", oauth_token="a,b", oauth_signature_method="PLAINTEXT", oauth_signature="&${TS}"`;
    expect(decoded(header).token).toBe('a,b');
  });

  const refused: Record<string, [string | undefined, string]> = {
    'no header': [undefined, 'missing'],
    'an empty header': ['  ', 'missing'],
    'a bearer key': ['Bearer ingot_abc_def', 'unsupported'],
    'no token': [
      `OAuth oauth_consumer_key="${CK}", oauth_signature_method="PLAINTEXT", oauth_signature="&${TS}"`,
      'missing',
    ],
    'no signature': [
      `OAuth oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature_method="PLAINTEXT"`,
      'missing',
    ],
    'no signature method': [
      `OAuth oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature="&${TS}"`,
      'missing',
    ],
    'HMAC-SHA1': [
      `OAuth oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature_method="HMAC-SHA1", oauth_signature="abc"`,
      'unsupported',
    ],
    'OAuth 2.0': [
      `OAuth oauth_version="2.0", oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature_method="PLAINTEXT", oauth_signature="&${TS}"`,
      'unsupported',
    ],
    'a signature without &': [
      `OAuth oauth_consumer_key="${CK}", oauth_token="${TK}", oauth_signature_method="PLAINTEXT", oauth_signature="${TS}"`,
      'malformed',
    ],
    'an unclosed quote': [`OAuth oauth_consumer_key="${CK}, oauth_token="x`, 'malformed'],
    'broken percent-encoding': [
      `OAuth oauth_consumer_key="%zz", oauth_token="${TK}", oauth_signature_method="PLAINTEXT", oauth_signature="&${TS}"`,
      'malformed',
    ],
    'a repeated key': [
      `OAuth oauth_token="a", oauth_token="b", oauth_consumer_key="${CK}", oauth_signature_method="PLAINTEXT", oauth_signature="&x"`,
      'malformed',
    ],
    'garbage between parameters': [`OAuth oauth_token="a" oauth_consumer_key="b"`, 'malformed'],
  };

  it.each(Object.entries(refused))('refuses %s', (_name, [header, kind]) => {
    const r = decodeOAuthHeader(header);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe(kind);
  });

  it('round-trips through encodeOAuthHeader and never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (ck, tk, cs, ts) => {
        const creds = { consumerKey: ck, token: tk, consumerSecret: cs, tokenSecret: ts };
        const r = decodeOAuthHeader(encodeOAuthHeader(creds));
        expect(r.ok && r.value).toMatchObject(creds);
        decodeOAuthHeader(`OAuth ${ck}${tk}`);
      }),
    );
  });
});
