import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createDeviceKey } from '@idrelay/testkit/device';
import { generateVapidKeys } from '@idrelay/transport-webpush';
import { SCOPES, type Scope } from '../../config/schema.js';
import { oneOf, parse } from '../args.js';
import { type Command, printJson } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';

const HELP = `Usage: idrelay keys <kind> [options]

Makes keys and prints them as JSON on stdout (nothing is written to disk).

Kinds:
  vapid    VAPID key pair for Web Push (RFC 8292): put it in transports.webpush of idrelay.config.ts,
           or IDRELAY_VAPID_PUBLIC_KEY / IDRELAY_VAPID_PRIVATE_KEY / IDRELAY_VAPID_SUBJECT
             --subject <mailto:|https:>   contact for push services (default mailto:ops@example.com)
             --env                        print IDRELAY_VAPID_* lines instead of JSON
  device   a device signing key (what an app makes on the phone), private and public JWK
             --algorithm ES256|Ed25519     default ES256
  audit    an Ed25519 key pair (PKCS#8 / SPKI PEM) for signing audit exports
  api      an API key: the key (show it once) and the sha256 entry for apiKeys in the config
             --id <name>                   names the key in logs (required)
             --scopes <list>               comma-separated: ${SCOPES.join(', ')} (default ingest)
             --env                         print the IDRELAY_API_KEYS line instead of JSON

Exit codes: 0 printed, 2 usage error.`;

const MAILTO_OR_HTTPS = /^(mailto:|https:\/\/)/;

/** `idrelay keys vapid|device|audit|api`. */
export const keysCommand: Command = {
  name: 'keys',
  summary: 'make VAPID, device, audit-signing or API keys',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse(
      'keys',
      args,
      {
        subject: { type: 'string' },
        algorithm: { type: 'string' },
        id: { type: 'string' },
        scopes: { type: 'string' },
        env: { type: 'boolean' },
      },
      1,
    );
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    const kind = oneOf('keys', 'kind (first argument)', positionals[0], ['vapid', 'device', 'audit', 'api']);
    switch (kind) {
      case 'vapid': {
        const subject = values.subject ?? 'mailto:ops@example.com';
        if (!MAILTO_OR_HTTPS.test(subject)) throw new UsageError('--subject must be a mailto: or https: URI', 'keys');
        const vapid = { ...generateVapidKeys(), subject };
        if (values.env) {
          io.stdout.write(
            `IDRELAY_VAPID_PUBLIC_KEY=${vapid.publicKey}\nIDRELAY_VAPID_PRIVATE_KEY=${vapid.privateKey}\nIDRELAY_VAPID_SUBJECT=${subject}\n`,
          );
        } else printJson(io, vapid);
        return EXIT_CODES.ok;
      }
      case 'device': {
        const algorithm = oneOf('keys', 'algorithm', values.algorithm, ['ES256', 'Ed25519'], 'ES256');
        const key = createDeviceKey(algorithm);
        printJson(io, { algorithm, privateJwk: key.exportPrivateJwk(), publicJwk: key.publicJwk });
        return EXIT_CODES.ok;
      }
      case 'audit': {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        printJson(io, {
          algorithm: 'Ed25519',
          privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
          publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
        });
        return EXIT_CODES.ok;
      }
      case 'api': {
        const id = values.id;
        if (id === undefined || !/^[\w.-]{1,64}$/.test(id)) {
          throw new UsageError('keys api needs --id <name> (1-64 letters, digits, _ . -)', 'keys');
        }
        const scopes = (values.scopes ?? 'ingest').split(',').map((s) => s.trim());
        for (const scope of scopes) oneOf('keys', 'scopes', scope, SCOPES);
        const key = `idr_${randomBytes(32).toString('base64url')}`;
        const sha256 = createHash('sha256').update(key).digest('hex');
        const unique = [...new Set(scopes)] as Scope[];
        if (values.env) io.stdout.write(`IDRELAY_API_KEYS=${key}:${unique.join('+')}\n`);
        else printJson(io, { key, entry: { id, sha256, scopes: unique } });
        return EXIT_CODES.ok;
      }
    }
  },
};
