import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchOnFreePort } from './redis-server.ts';

test('a port taken between the check and the bind: redis-server starts on another one', async (t) => {
  // Another process holds the port the helper was first given.
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => squatter.close());
  const taken = (squatter.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-helper-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const offered: number[] = [];
  const choose = async () => {
    if (offered.length === 0) return (offered.push(taken), taken);
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    offered.push(port);
    return port;
  };
  const { child, port } = await launchOnFreePort(dir, choose);
  t.teardown(() => void child.kill('SIGKILL'));
  t.is(offered[0], taken);
  t.not(port, taken);
  t.deepEqual(offered.slice(-1), [port]);
  const pong = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString());
      socket.end();
    });
    socket.once('error', reject);
  });
  t.is(pong, '+PONG\r\n');
});
