import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private PKI made at test time with Debian's openssl: a CA, server certificates for any
 * names (wildcards included), client certificates. EC P-256 keys: fast to make.
 */

export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: Issued;
  /** A server certificate for `names` (DNS names, `*.x` wildcards, IP addresses), valid `days`. */
  server(file: string, names: readonly string[], days?: number): Promise<Issued>;
  /** A client certificate whose subject is `subject` (`/CN=alice/O=Example`). */
  client(file: string, subject: string): Promise<Issued>;
  /** Removes the folder. */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Asynchronous: tests running meanwhile in the same process keep their event loop. */
async function opensslAsync(dir: string, args: string[]): Promise<void> {
  await promisify(execFile)('openssl', args, { cwd: dir });
}

function issued(dir: string, name: string): Issued {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A new CA in a new temporary folder (made synchronously: call it in test.before); `makePki(name)` twice gives two unrelated CAs. */
export function makePki(caName = 'Baton Test CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'baton-pki-'));
  openssl(dir, [
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-subj',
    `/CN=${caName}`,
  ]);
  const ca = issued(dir, 'ca');
  const sign = async (file: string, subject: string, extensions: string, days: number) => {
    await opensslAsync(dir, ['req', ...ecKey, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', subject]);
    writeFileSync(join(dir, `${file}.ext`), extensions);
    // A random serial: certificates signed at once in one folder must not race on a serial file.
    await opensslAsync(dir, [
      'x509',
      '-req',
      '-in',
      `${file}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-out',
      `${file}.crt`,
      '-days',
      String(days),
      '-extfile',
      `${file}.ext`,
    ]);
    return issued(dir, file);
  };
  return {
    dir,
    ca,
    server(file, names, days = 10) {
      const san = names.map((name) => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
      return sign(file, `/CN=${names[0]}`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`, days);
    },
    client(file, subject) {
      return sign(file, subject, 'extendedKeyUsage=clientAuth\n', 10);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
