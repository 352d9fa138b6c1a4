/**
 * The AK/SK signer against Huawei's own (AKSKSigner in @huaweicloud/huaweicloud-sdk-core, a dev
 * dependency loaded only here): every vector must give the same Authorization header.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { lastValueFrom } from 'rxjs';
import { canonicalQuery, canonicalUri, parseAuthorization, parseSdkDate, sdkDate, signHandshake } from '../../lib/auth/aksk.js';
import { authHeaders$ } from '../../lib/auth/token.js';
import { SECRETS } from '../helpers/secrets.js';

interface HuaweiRequest {
  readonly method: string;
  readonly endpoint: string;
  readonly headers: Record<string, string>;
  readonly queryParams: Record<string, string | string[]>;
}
interface HuaweiSigner {
  sign(request: HuaweiRequest, credential: { getAk(): string; getSk(): string }): Record<string, string>;
  CanonicalURI(path: string): string;
  CanonicalQueryString(request: { queryParams: Record<string, string | string[]> }): string;
}
const huaweiModule: unknown = createRequire(import.meta.url)('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js');
const huawei = (huaweiModule as { AKSKSigner: HuaweiSigner }).AKSKSigner;

/** Huawei's Authorization for a GET; its signer takes the path as written and the query as a map. */
const huaweiAuthorization = (
  endpoint: string,
  date: string,
  keys: { ak: string; sk: string },
  queryParams: Record<string, string | string[]> = {},
): string | undefined =>
  huawei.sign({ method: 'GET', endpoint, headers: { 'X-Sdk-Date': date }, queryParams }, { getAk: () => keys.ak, getSk: () => keys.sk })['Authorization'];

const KEYS = { ak: 'HPUAEXAMPLEAK0000001', sk: SECRETS.sk };
const AT = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

describe('AK/SK signing (SDK-HMAC-SHA256)', () => {
  it('formats X-Sdk-Date as YYYYMMDDTHHMMSSZ in UTC, and parses it back strictly', () => {
    expect(sdkDate(AT)).to.equal('20240102T030405Z');
    expect(sdkDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)))).to.equal('19991231T235959Z');
    expect(parseSdkDate('20240102T030405Z')?.getTime()).to.equal(AT.getTime());
    for (const bad of ['20240102T030405', '2024-01-02T03:04:05Z', '20241302T030405Z', '20240230T000000Z', ''])
      expect(parseSdkDate(bad), bad).to.equal(undefined);
  });

  describe("matches Huawei's signer", () => {
    const vectors: { name: string; url: string; huaweiEndpoint?: string; query?: Record<string, string | string[]> }[] = [
      { name: 'the RTTS handshake of a region', url: 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/0a1b2c3d4e5f/rtts' },
      { name: 'a non-default port, which is part of the signed host', url: 'ws://127.0.0.1:8080/v1/p/rtts' },
      { name: 'a path ending in a slash', url: 'wss://sis-ext.cn-east-3.myhuaweicloud.com/v1/p/rtts/' },
      {
        name: 'a path with characters that need encoding (non-ASCII, sub-delims)',
        url: 'wss://sis-ext.cn-east-3.myhuaweicloud.com/proxy/v1/项目@(1)!*+,;=:$&~é😀/rtts',
      },
      {
        name: 'a query string: sorted, repeated names, encoded names and values',
        url: 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p/rtts?b=2&a=x%20y&b=1&%C3%BC=%E4%B8%AD&empty=&t=a~b*c',
        huaweiEndpoint: 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p/rtts',
        query: { b: ['2', '1'], a: 'x y', ü: '中', empty: '', t: 'a~b*c' },
      },
    ];
    for (const vector of vectors) {
      it(`for ${vector.name}`, () => {
        const ours = signHandshake(vector.url, KEYS, AT);
        expect(ours['X-Sdk-Date']).to.equal('20240102T030405Z');
        expect(ours['Authorization']).to.equal(huaweiAuthorization(vector.huaweiEndpoint ?? vector.url, '20240102T030405Z', KEYS, vector.query));
      });
    }

    it('for an SK with non-ASCII characters and other dates', () => {
      const keys = { ak: 'AK2', sk: `${SECRETS.sk}-密钥` };
      for (const at of [new Date(Date.UTC(2030, 11, 31, 23, 59, 59)), new Date(Date.UTC(2000, 1, 29, 0, 0, 0))]) {
        const url = 'wss://sis-ext.ap-southeast-1.myhuaweicloud.com/v1/p/rtts';
        expect(signHandshake(url, keys, at)['Authorization']).to.equal(huaweiAuthorization(url, sdkDate(at), keys));
      }
    });

    it('for any path whose characters survive url.parse, and any query (property)', () => {
      // Huawei's signer runs the path through url.parse, which escapes spaces, quotes and the like once
      // more: those are checked on the canonical forms below instead. Dot segments are left out: a URL
      // resolves them before anything is sent (or signed), url.parse keeps them.
      const segment = fc
        .string({ unit: fc.constantFrom(...'aZ09-_.~!$&()*+,;=:@é中😀'.split(/(?:)/u)), minLength: 1, maxLength: 8 })
        .filter((s) => s !== '.' && s !== '..');
      const name = fc.string({ unit: fc.constantFrom(...'abz_-~ ü中+'.split(/(?:)/u)), minLength: 1, maxLength: 5 });
      fc.assert(
        fc.property(
          fc.array(segment, { minLength: 1, maxLength: 4 }),
          fc.dictionary(name, fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { minLength: 1, maxLength: 2 }), { maxKeys: 4 }),
          (segments, query) => {
            const base = `wss://sis-ext.cn-north-4.myhuaweicloud.com/${segments.join('/')}`;
            const search = Object.entries(query)
              .flatMap(([k, values]) => values.map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
              .join('&');
            const ours = signHandshake(search === '' ? base : `${base}?${search}`, KEYS, AT)['Authorization'];
            return ours === huaweiAuthorization(base, '20240102T030405Z', KEYS, Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [...v]])));
          },
        ),
      );
    });
  });

  describe("canonical forms, against Huawei's helpers", () => {
    it('encodes every segment of the path once, whether it arrives encoded or not, and ends it with /', () => {
      expect(canonicalUri('/v1/a%20b/%25x/rtts')).to.equal(huawei.CanonicalURI('/v1/a b/%x/rtts')).and.equal('/v1/a%20b/%25x/rtts/');
      expect(canonicalUri('/v1/a b/rtts')).to.equal('/v1/a%20b/rtts/');
      expect(canonicalUri('/')).to.equal('/');
      fc.assert(
        fc.property(
          fc.array(
            fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => s.replace(/\//g, '')),
            { minLength: 1, maxLength: 4 },
          ),
          (segments) => {
            const raw = `/${segments.join('/')}`;
            return canonicalUri(`/${segments.map(encodeURIComponent).join('/')}`) === huawei.CanonicalURI(raw);
          },
        ),
      );
    });

    it('sorts and encodes the query like Huawei\'s signer ("+" is a plus, not a space)', () => {
      expect(canonicalQuery('?b=1&a=2&a=1&c'))
        .to.equal(huawei.CanonicalQueryString({ queryParams: { b: '1', a: ['2', '1'], c: '' } }))
        .and.equal('a=1&a=2&b=1&c=');
      expect(canonicalQuery('x=a+b')).to.equal('x=a%2Bb');
      expect(canonicalQuery('')).to.equal('');
      fc.assert(
        fc.property(
          fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }), fc.string({ unit: 'grapheme', maxLength: 5 }), { maxKeys: 5 }),
          (query) => {
            const search = Object.entries(query)
              .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
              .join('&');
            return canonicalQuery(search) === huawei.CanonicalQueryString({ queryParams: { ...query } });
          },
        ),
      );
    });
  });

  it('signs host and x-sdk-date only, and adds no Host header of its own', () => {
    const headers = signHandshake('ws://127.0.0.1:8080/v1/p/rtts', KEYS, AT);
    expect(
      Object.keys(headers)
        .map((h) => h.toLowerCase())
        .sort(),
    ).to.deep.equal(['authorization', 'x-sdk-date']);
    expect(parseAuthorization(headers['Authorization'] ?? '')).to.deep.include({ ak: KEYS.ak, signedHeaders: ['host', 'x-sdk-date'] });
    expect(Object.values(headers).some((v) => v.includes(SECRETS.sk))).to.equal(false);
  });

  it('takes a fresh X-Sdk-Date for every connection (every subscription)', async () => {
    let now = AT.getTime();
    const clock = (): Date => {
      now += 61_000;
      return new Date(now);
    };
    const auth = { ...KEYS, clock };
    const headers$ = authHeaders$(auth, 'ws://127.0.0.1:8080/v1/p/rtts');
    const first = await lastValueFrom(headers$);
    const second = await lastValueFrom(headers$);
    expect(first['X-Sdk-Date']).to.equal('20240102T030506Z');
    expect(second['X-Sdk-Date']).to.equal('20240102T030607Z');
    expect(first['Authorization']).not.to.equal(second['Authorization']);
  });

  it('parses only well-formed SDK-HMAC-SHA256 Authorization headers', () => {
    expect(parseAuthorization('SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;X-Sdk-Date, Signature=ABCDEF')).to.deep.equal({
      ak: 'AK',
      signedHeaders: ['host', 'x-sdk-date'],
      signature: 'abcdef',
    });
    for (const bad of ['Bearer x', 'SDK-HMAC-SHA256 Access=AK, Signature=ab', 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=xyz']) {
      expect(parseAuthorization(bad), bad).to.equal(undefined);
    }
  });
});
