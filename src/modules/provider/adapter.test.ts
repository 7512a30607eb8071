/**
 * The oidc-provider adapter contract, on whichever database the suite runs against (embedded and
 * PostgreSQL): every model round-trips, lookups by uid and user code, expiry, atomic consumption,
 * grant revocation. A second hub on the same database sees everything the first wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../../../test/support/hub.ts';
import { PayloadAdapter } from './adapter.ts';

describe('oidc-provider adapter', () => {
  let t: TestHub;
  let other: TestHub;
  beforeAll(async () => {
    t = await createTestHub();
    other = await createTestHub({ sameDatabaseAs: t });
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  const adapter = (model: string, hub = t) => new PayloadAdapter(hub.hub.database, model);

  it('stores and finds every model, from any hub on the database', async () => {
    for (const model of [
      'Session',
      'Interaction',
      'Grant',
      'AuthorizationCode',
      'AccessToken',
      'RefreshToken',
      'ClientCredentials',
      'ReplayDetection',
      'PushedAuthorizationRequest',
      'DeviceCode',
      'BackchannelAuthenticationRequest',
    ]) {
      const id = `${model}-1`;
      const payload = { jti: id, kind: model, iat: 1, exp: 2_000_000_000, nested: { a: [1, 'two'] } };
      await adapter(model).upsert(id, payload, 3600);
      expect(await adapter(model, other).find(id), model).toEqual(payload);
      expect(await adapter(model === 'Session' ? 'Grant' : 'Session').find(id)).toBeUndefined();
    }
    expect(await adapter('AccessToken').find('missing')).toBeUndefined();
  });

  it('upsert replaces the payload and keeps the indexes in step', async () => {
    const sessions = adapter('Session');
    await sessions.upsert('s1', { jti: 's1', uid: 'uid-1', accountId: 'usr_a' }, 3600);
    expect(await sessions.findByUid('uid-1')).toMatchObject({ jti: 's1' });
    await sessions.upsert('s1', { jti: 's1', uid: 'uid-2', accountId: 'usr_a', loginTs: 5 }, 3600);
    expect(await sessions.findByUid('uid-1')).toBeUndefined();
    expect(await adapter('Session', other).findByUid('uid-2')).toMatchObject({ loginTs: 5 });
    const devices = adapter('DeviceCode');
    await devices.upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH', grantId: 'g-dev' }, 600);
    expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ jti: 'd1' });
    expect(await devices.findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
  });

  it('does not find what has expired', async () => {
    const codes = adapter('AuthorizationCode');
    await codes.upsert('gone', { jti: 'gone' }, -1);
    expect(await codes.find('gone')).toBeUndefined();
    await codes.upsert('forever', { jti: 'forever' });
    expect(await codes.find('forever')).toMatchObject({ jti: 'forever' });
    expect((await t.hub.provider.cleanUp(new Date(Date.now() + 120_000))).payloads).toBeGreaterThanOrEqual(1);
    expect(await codes.find('forever')).toMatchObject({ jti: 'forever' });
  });

  it('consumes once: the second consumption, on another hub, revokes the grant and says invalid_grant', async () => {
    const grant = 'g-consume';
    await adapter('Grant').upsert(grant, { jti: grant, accountId: 'usr_b' }, 3600);
    await adapter('AuthorizationCode').upsert('c1', { jti: 'c1', grantId: grant }, 60);
    await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: grant }, 3600);
    await adapter('AuthorizationCode').consume('c1');
    expect((await adapter('AuthorizationCode', other).find('c1'))?.consumed).toEqual(expect.any(Number));
    await expect(adapter('AuthorizationCode', other).consume('c1')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(await adapter('AccessToken').find('a1')).toBeUndefined();
    expect(await adapter('Grant').find(grant)).toBeUndefined();
    // Saving a consumed row again does not make it usable again.
    await adapter('RefreshToken').upsert('r1', { jti: 'r1' }, 60);
    await adapter('RefreshToken').consume('r1');
    await adapter('RefreshToken').upsert('r1', { jti: 'r1', scope: 'again' }, 60);
    expect((await adapter('RefreshToken').find('r1'))?.consumed).toEqual(expect.any(Number));
  });

  it('revokeByGrantId removes that model’s rows of the grant only; destroy removes one row', async () => {
    await adapter('AccessToken').upsert('x1', { jti: 'x1', grantId: 'g2' }, 3600);
    await adapter('AccessToken').upsert('x2', { jti: 'x2', grantId: 'g2' }, 3600);
    await adapter('AccessToken').upsert('x3', { jti: 'x3', grantId: 'g3' }, 3600);
    await adapter('RefreshToken').upsert('y1', { jti: 'y1', grantId: 'g2' }, 3600);
    await adapter('AccessToken', other).revokeByGrantId('g2');
    expect(await adapter('AccessToken').find('x1')).toBeUndefined();
    expect(await adapter('AccessToken').find('x2')).toBeUndefined();
    expect(await adapter('AccessToken').find('x3')).toMatchObject({ jti: 'x3' });
    expect(await adapter('RefreshToken').find('y1')).toMatchObject({ jti: 'y1' });
    await adapter('RefreshToken').destroy('y1');
    expect(await adapter('RefreshToken').find('y1')).toBeUndefined();
  });
});
