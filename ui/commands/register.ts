import { registerAccount } from '../../src/client/register.js';
import { hostPortOf, webSocketUrl } from '../../src/client/url.js';
import { decideTrust, type TrustRequest } from '../../src/credentials/server-trust.js';
import type { RegisterValues } from '../dialogs/login-form.js';

/**
 * The login dialog's onRegister: asks the server at host:port for the account (the `register`
 * op, before any login), over wss:// or ws:// as the dialog's TLS box says. Resolves with
 * 'active' (it can log in now) or 'pending' (an administrator must approve it); rejects with the
 * server's FerryError (ENOTSUP: registration is off, EEXIST, EINVAL, ETHROTTLE) or ENETWORK,
 * which the dialog shows as one line. Over TLS the server's identity is settled first, as for a
 * login (`trust.ask` is the trust dialog), so a new password never goes to an unknown server.
 */
export async function registerFromDialog(values: RegisterValues, trust: Omit<TrustRequest, 'hostPort'> = {}): Promise<{ status: 'active' | 'pending' }> {
  const url = webSocketUrl(values.host, values.port, values.tls);
  const decided = values.tls ? await decideTrust({ ...trust, hostPort: hostPortOf(url) }) : undefined;
  const { status } = await registerAccount({
    url,
    user: values.user,
    password: values.password,
    ...(decided ? { identity: decided.policy, onIdentity: (peer) => void decided.accepted(peer).catch(() => undefined) } : {}),
  });
  return { status };
}
