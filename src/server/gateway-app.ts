/** The gateway's App: what every module gets, plus what only the server uses (the key authenticator). */
import type { App } from '../app';
import type { KeyAuthenticator } from '../modules/auth';

export interface GatewayApp extends App {
  /** Keys → AuthInfo, cached briefly; revocations drop entries (src/modules/auth/revocation.ts). */
  authenticator: KeyAuthenticator;
}
