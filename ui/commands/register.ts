import { registerAccount } from '../../src/client/register.js';
import type { RegisterValues } from '../dialogs/login-dialog.js';

/**
 * The login dialog's onRegister: asks the server at host:port for the account (the `register`
 * op, before any login). Resolves with 'active' (it can log in now) or 'pending' (an
 * administrator must approve it); rejects with the server's FerryError (ENOTSUP: registration
 * is off, EEXIST, EINVAL, ETHROTTLE) or ENETWORK, which the dialog shows as one line.
 */
export async function registerFromDialog(values: RegisterValues): Promise<{ status: 'active' | 'pending' }> {
  // An IPv6 literal needs brackets in a URL.
  const host = values.host.includes(':') ? `[${values.host}]` : values.host;
  const { status } = await registerAccount({ url: `ws://${host}:${values.port}`, user: values.user, password: values.password });
  return { status };
}
