import { expect } from 'chai';
import { Redis } from 'ioredis';
import { SisConfigError, SisConnectionError } from '../../lib/errors.js';
import { redisLimitStore, type RedisLimitStoreOptions } from '../../lib/relay/redis.js';
import type { RelayLimitStore } from '../../lib/relay/store.js';
import { errorOf } from '../helpers/errors.js';
import { eventually } from '../helpers/eventually.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { browser, closeEverythingAfterEach, emulatorFor, refusal, relayFor } from './support.js';

describe('redisLimitStore', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const stores: RelayLimitStore[] = [];

  /** A client of `on` (a relay's connection): closed after the test. */
  const connect = async (on: RedisServer = server): Promise<Redis> => {
    const client = new Redis({ host: on.host, port: on.port, lazyConnect: true });
    // What an app does: ioredis reconnects by itself, and without a listener it prints every failure.
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };

  /** A store over a new client (one relay of the fleet): closed after the test. */
  const relayStore = async (options: Omit<RedisLimitStoreOptions, 'redis'> = {}, redis?: Redis): Promise<RelayLimitStore> => {
    const store = redisLimitStore({ redis: redis ?? (await connect()), ...options });
    stores.push(store);
    return store;
  };

  before(async () => {
    server = await startRedisServer();
    admin = new Redis({ host: server.host, port: server.port });
  });

  after(async () => {
    await admin?.quit();
    await server?.stop();
  });

  beforeEach(async () => {
    await admin.flushall();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });

  describe('acquire and release', () => {
    it('takes slots up to max, then refuses without taking one', async () => {
      const store = await relayStore();
      expect([await store.acquire('user:alice', 2), await store.acquire('user:alice', 2), await store.acquire('user:alice', 2)]).to.deep.equal([
        true,
        true,
        false,
      ]);
      expect(await admin.zcard('rx-sis-tts:relay:slots:user:alice')).to.equal(2);
      expect(await store.acquire('user:bob', 2), 'another key has its own slots').to.equal(true);
      expect(await store.acquire('user:carol', 0), 'max 0 gives nothing').to.equal(false);
    });

    it('gives back one slot per release', async () => {
      const store = await relayStore();
      await store.acquire('user:alice', 2);
      await store.acquire('user:alice', 2);
      await store.release('user:alice');
      expect(await store.acquire('user:alice', 2)).to.equal(true);
      expect(await store.acquire('user:alice', 2)).to.equal(false);
      await store.release('user:alice');
      await store.release('user:alice');
      expect(await admin.zcard('rx-sis-tts:relay:slots:user:alice')).to.equal(0);
    });

    it('never goes below zero: a release with no slot taken gives nothing back', async () => {
      const store = await relayStore();
      const other = await relayStore();
      await store.release('user:alice');
      await store.release('user:alice');
      expect(await store.acquire('user:alice', 1)).to.equal(true);
      await other.release('user:alice');
      expect(await store.acquire('user:alice', 1), 'the other relay took no slot, so it gave none back').to.equal(false);
      await store.release('user:alice');
      await store.release('user:alice');
      expect(await store.acquire('user:alice', 1)).to.equal(true);
      expect(await store.acquire('user:alice', 1)).to.equal(false);
    });

    it('holds one user to one limit across two relays (two clients, one Redis)', async () => {
      const relayA = await relayStore();
      const relayB = await relayStore();
      expect(await relayA.acquire('user:alice', 2)).to.equal(true);
      expect(await relayB.acquire('user:alice', 2)).to.equal(true);
      expect(await relayB.acquire('user:alice', 2)).to.equal(false);
      expect(await relayA.acquire('user:alice', 2)).to.equal(false);
      await relayA.release('user:alice');
      expect(await relayB.acquire('user:alice', 2)).to.equal(true);
      expect(await relayA.acquire('user:alice', 2)).to.equal(false);
    });

    it('takes exactly max slots when relays race for them', async () => {
      const relays = await Promise.all([relayStore(), relayStore(), relayStore()]);
      const taken = await Promise.all(Array.from({ length: 10 }).flatMap(() => relays.map((relay) => relay.acquire('user:alice', 7))));
      expect(taken.filter(Boolean)).to.have.length(7);
      expect(await admin.zcard('rx-sis-tts:relay:slots:user:alice')).to.equal(7);
    });

    it('lets a slot held by a relay that crashed expire after sessionTtlMs, while the user keeps another relay busy', async () => {
      const crashingClient = await connect();
      const crashing = redisLimitStore({ redis: crashingClient, sessionTtlMs: 300 });
      const survivor = await relayStore({ sessionTtlMs: 60_000 });
      expect(await crashing.acquire('user:alice', 2)).to.equal(true);
      crashingClient.disconnect(); // no release, no close
      const started = Date.now();
      expect(await survivor.acquire('user:alice', 2)).to.equal(true);
      expect(await survivor.acquire('user:alice', 2), 'the crashed relay still holds one').to.equal(false);
      await eventually("the crashed relay's slot expired", () => survivor.acquire('user:alice', 2), { withinMs: 3000 });
      expect(Date.now() - started).to.be.at.least(250);
      expect(await survivor.acquire('user:alice', 2)).to.equal(false);
    });

    it('close() gives back the slots still held and leaves the app’s client open', async () => {
      const client = await connect();
      const closing = redisLimitStore({ redis: client });
      const other = await relayStore();
      await closing.acquire('user:alice', 2);
      await closing.acquire('user:alice', 2);
      await closing.close();
      expect(await other.acquire('user:alice', 2)).to.equal(true);
      expect(await other.acquire('user:alice', 2)).to.equal(true);
      expect(client.status).to.equal('ready');
      const error = await errorOf(closing.acquire('user:alice', 2));
      expect(error).to.be.instanceOf(SisConnectionError);
      expect(error.message).to.include('store.close()');
      await closing.release('user:alice');
      await closing.close();
    });

    it('close() quits the client with closeClient: true', async () => {
      const client = await connect();
      const store = redisLimitStore({ redis: client, closeClient: true });
      await store.acquire('user:alice', 1);
      await store.close();
      expect(client.status).to.equal('end');
      expect(await admin.zcard('rx-sis-tts:relay:slots:user:alice')).to.equal(0);
    });
  });

  describe('consume', () => {
    it('counts within the budget and refuses, counting nothing, what would go over', async () => {
      const store = await relayStore();
      expect(await store.consume('chars:alice', 8, 10, 60_000)).to.equal(true);
      expect(await store.consume('chars:alice', 5, 10, 60_000)).to.equal(false);
      expect(await admin.get('rx-sis-tts:relay:window:60000:chars:alice')).to.equal('8');
      expect(await store.consume('chars:alice', 2, 10, 60_000)).to.equal(true);
      expect(await store.consume('chars:alice', 1, 10, 60_000)).to.equal(false);
      expect(await store.consume('chars:alice', 0, 10, 60_000)).to.equal(true);
      expect(await store.consume('chars:alice', 11, 100, 60_000), 'a lower max already spent').to.equal(true);
    });

    it('keeps separate budgets per key and per window length', async () => {
      const store = await relayStore();
      expect(await store.consume('chars:alice', 10, 10, 60_000)).to.equal(true);
      expect(await store.consume('chars:bob', 10, 10, 60_000)).to.equal(true);
      expect(await store.consume('chars:alice', 10, 10, 3_600_000)).to.equal(true);
      expect(await store.consume('chars:alice', 1, 10, 60_000)).to.equal(false);
    });

    it('shares one budget across two relays', async () => {
      const relayA = await relayStore();
      const relayB = await relayStore();
      expect(await relayA.consume('requests:alice', 2, 3, 60_000)).to.equal(true);
      expect(await relayB.consume('requests:alice', 2, 3, 60_000)).to.equal(false);
      expect(await relayB.consume('requests:alice', 1, 3, 60_000)).to.equal(true);
      expect(await relayA.consume('requests:alice', 1, 3, 60_000)).to.equal(false);
    });

    it('starts a new window once windowMs has passed since its first count', async () => {
      const store = await relayStore();
      const started = Date.now();
      expect(await store.consume('requests:alice', 3, 3, 300)).to.equal(true);
      expect(await store.consume('requests:alice', 1, 3, 300)).to.equal(false);
      const ttl = await admin.pttl('rx-sis-tts:relay:window:300:requests:alice');
      expect(ttl).to.be.within(1, 300);
      await eventually('in a new window', () => store.consume('requests:alice', 1, 3, 300), { withinMs: 3000 });
      expect(Date.now() - started).to.be.at.least(290);
      expect(await admin.get('rx-sis-tts:relay:window:300:requests:alice')).to.equal('1');
    });
  });

  describe('keys', () => {
    it("writes only under keyPrefix ('rx-sis-tts:relay:' by default)", async () => {
      await admin.set('app:data', 'untouched');
      const plain = await relayStore();
      const custom = await relayStore({ keyPrefix: 'tenant-7:' });
      for (const store of [plain, custom]) {
        await store.acquire('user:alice', 1);
        await store.consume('chars:alice', 1, 10, 60_000);
      }
      expect((await admin.keys('*')).sort()).to.deep.equal([
        'app:data',
        'rx-sis-tts:relay:slots:user:alice',
        'rx-sis-tts:relay:window:60000:chars:alice',
        'tenant-7:slots:user:alice',
        'tenant-7:window:60000:chars:alice',
      ]);
      expect(await admin.get('app:data')).to.equal('untouched');
    });
  });

  describe('when Redis fails', () => {
    it('rejects with a retryable SisConnectionError within timeoutMs when Redis is down; release still resolves', async () => {
      const own = await startRedisServer();
      try {
        const store = await relayStore({ timeoutMs: 300 }, await connect(own));
        expect(await store.acquire('user:alice', 2)).to.equal(true);
        await own.stop();
        for (const call of [() => store.acquire('user:alice', 2), () => store.consume('chars:alice', 1, 10, 60_000)]) {
          const started = Date.now();
          const error = await errorOf(call());
          expect(Date.now() - started).to.be.below(1500);
          expect(error).to.be.instanceOf(SisConnectionError);
          expect(error.retryable).to.equal(true);
          expect(error.message).to.match(/Redis/);
        }
        await store.release('user:alice');
      } finally {
        await own.stop();
      }
    });

    it('rejects when Redis does not answer in time, and gives back a slot Redis took after all', async () => {
      const store = await relayStore({ timeoutMs: 150 });
      expect(await store.acquire('user:warmup', 1)).to.equal(true);
      await admin.client('PAUSE', 600, 'ALL');
      const error = await errorOf(store.acquire('user:alice', 1));
      expect(error).to.be.instanceOf(SisConnectionError);
      expect(error.message).to.include('did not answer within 150 ms');
      // Redis runs the late acquire when the pause ends; without the give-back the one slot stays taken.
      // (An acquire asked during the pause times out as well: it counts as not yet.)
      await eventually('given the late slot back', () => store.acquire('user:alice', 1).catch(() => false), { withinMs: 5000 });
      expect(await store.acquire('user:alice', 1)).to.equal(false);
    });
  });

  describe('behind two relays', () => {
    closeEverythingAfterEach();

    it('holds one user to one limit across two relays sharing it, and frees it when the session ends', async () => {
      const emulator = await emulatorFor();
      const limits = { perUser: { sessions: 1 } };
      const first = await relayFor(emulator, { limits, store: redisLimitStore({ redis: await connect() }) });
      const second = await relayFor(emulator, { limits, store: redisLimitStore({ redis: await connect() }) });
      const aliceSlots = () => admin.zcard('rx-sis-tts:relay:slots:sessions:user:alice');
      const page = browser(first.url, { user: 'alice' });
      await page.opened;
      expect(await aliceSlots()).to.equal(1);
      // alice's one session is on the first relay: the second refuses her, and still takes bob.
      expect((await refusal(second.url, { user: 'alice' })).status).to.equal(429);
      const bob = browser(second.url, { user: 'bob' });
      await bob.opened;
      page.ws.close();
      await page.closed;
      // The relay gives the slot back once the session has ended on both sides: wait for Redis to have it.
      await eventually("alice's slot given back", async () => (await aliceSlots()) === 0);
      const again = browser(second.url, { user: 'alice' });
      await again.opened;
      for (const ws of [bob.ws, again.ws]) ws.close();
      expect({ first: first.relay.stats().refused.limited, second: second.relay.stats().refused.limited }).to.deep.equal({ first: 0, second: 1 });
    });
  });

  describe('options and arguments', () => {
    it('refuses bad options, naming each', () => {
      const bad = { redis: {}, keyPrefix: 7, sessionTtlMs: 0, closeClient: 'yes', timeoutMs: 1.5, sessionTTL: 5 } as unknown as RedisLimitStoreOptions;
      expect(() => redisLimitStore(bad))
        .to.throw(SisConfigError)
        .with.property('problems')
        .that.satisfies((problems: { path: string }[]) =>
          ['sessionTTL', 'redis', 'keyPrefix', 'sessionTtlMs', 'closeClient', 'timeoutMs'].every((path) => problems.some((p) => p.path === path)),
        );
    });

    it('refuses bad arguments before they reach Redis', async () => {
      const store = await relayStore();
      const acquireError = await errorOf(store.acquire('user:alice', -1));
      expect(acquireError).to.be.instanceOf(SisConfigError);
      expect(acquireError.message).to.include('max');
      const consumeError = await errorOf(store.consume('chars:alice', 1.5, 10, 0));
      expect(consumeError).to.be.instanceOf(SisConfigError);
      expect(consumeError.message).to.include('amount').and.to.include('windowMs');
      expect(await admin.keys('*')).to.deep.equal([]);
    });
  });
});
