import { generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * A Google service-account key file, as downloaded from the Firebase console (Project settings → Service
 * accounts → Generate new private key). Field names are the file's own snake_case ones.
 */
export interface TestServiceAccount {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  /** RSA private key, PKCS#8 PEM; firebase-admin signs its OAuth assertion (RS256) with it. */
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

/** A throwaway service account and the public key a stand-in verifies its assertions with. */
export interface TestServiceAccountPair {
  serviceAccount: TestServiceAccount;
  /** SPKI PEM of `private_key`. */
  publicKey: string;
}

/**
 * Makes a throwaway service account with a fresh 2048-bit RSA key (node:crypto), for tests only: Google has never
 * heard of it, so it cannot reach a real project even if it leaks.
 *
 * @example
 * ```ts
 * const { serviceAccount, publicKey } = createTestServiceAccount({ projectId: 'demo' });
 * initializeApp({ credential: cert(serviceAccount), projectId: 'demo' }, 'test');
 * ```
 * @see https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth
 */
export function createTestServiceAccount(options: { projectId?: string } = {}): TestServiceAccountPair {
  const projectId = options.projectId ?? 'idrelay-test';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const id = randomBytes(8).toString('hex');
  return {
    serviceAccount: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: `firebase-adminsdk-${id.slice(0, 5)}@${projectId}.iam.gserviceaccount.com`,
      client_id: BigInt(`0x${id}`).toString(),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
