import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server's certificate and key files, and the CA file that verifies it. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A certificate authority of a test's own, made with openssl: it issues server certificates for the
 * host names and addresses given, so that a test can check verification both ways (right CA and host,
 * another CA, another host). EC P-256 keys: quick to make, and every server here takes them.
 */
export class TestCa {
  private issued = 0;

  private constructor(
    readonly dir: string,
    readonly certFile: string,
    private readonly keyFile: string,
  ) {}

  static create(name = 'plantmesh test CA'): TestCa {
    const dir = mkdtempSync(join(tmpdir(), 'plantmesh-ca-'));
    // Servers that drop root (RabbitMQ) must read their files: these keys exist only for a test.
    chmodSync(dir, 0o755);
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      ]),
      dir,
    );
    return new TestCa(dir, join(dir, 'ca.crt'), join(dir, 'ca.key'));
  }

  /** A server certificate for these names: DNS names, or IP addresses (e.g. 127.0.0.1). */
  issue(names: string[]): TlsFiles {
    this.issued += 1;
    const base = `server-${this.issued}`;
    const alt = names.map((name) => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
    writeFileSync(join(this.dir, `${base}.ext`), `subjectAltName=${alt}\nextendedKeyUsage=serverAuth\n`);
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
        '-subj',
        `/CN=${names[0]}`,
      ]),
      this.dir,
    );
    openssl(
      ['x509', '-req', '-in', `${base}.csr`, '-CA', this.certFile, '-CAkey', this.keyFile, '-CAcreateserial'].concat([
        '-out',
        `${base}.crt`,
        '-days',
        '2',
        '-extfile',
        `${base}.ext`,
      ]),
      this.dir,
    );
    chmodSync(join(this.dir, `${base}.key`), 0o644);
    return { ca: this.certFile, cert: join(this.dir, `${base}.crt`), key: join(this.dir, `${base}.key`) };
  }
}
