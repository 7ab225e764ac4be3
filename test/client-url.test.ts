import test from 'ava';
import { formatRemote, isRemoteUrl, parseRemoteUrl } from '../src/client/url.js';
import { FerryError } from '../src/protocol/errors.js';

test('a full ferry URL parses into user, host, port, path and the ws URL', (t) => {
  t.deepEqual(parseRemoteUrl('ferry://alice@files.example:7171/photos/2024'), {
    user: 'alice',
    host: 'files.example',
    port: 7171,
    path: '/photos/2024',
    tls: true,
    wsUrl: 'wss://files.example:7171',
  });
});

test('port, path and user are optional', (t) => {
  t.deepEqual(parseRemoteUrl('ferry://host'), { host: 'host', port: 7070, path: '/', tls: true, wsUrl: 'wss://host:7070' });
  t.deepEqual(parseRemoteUrl('ferry://bob@host/'), { user: 'bob', host: 'host', port: 7070, path: '/', tls: true, wsUrl: 'wss://host:7070' });
  t.is(parseRemoteUrl('ferry://host:').port, 7070);
});

test('IPv6 hosts go in brackets', (t) => {
  const url = parseRemoteUrl('ferry://alice@[::1]:9000/x');
  t.is(url.host, '::1');
  t.is(url.port, 9000);
  t.is(url.wsUrl, 'ws://[::1]:9000');
  t.is(parseRemoteUrl('ferry://[fe80::1]').wsUrl, 'wss://[fe80::1]:7070');
});

test('the path and the user are percent-decoded', (t) => {
  const url = parseRemoteUrl('ferry://j%40ne@host/My%20Files/%C3%A9t%C3%A9%2Fnot-a-dir');
  t.is(url.user, 'j@ne');
  t.is(url.path, '/My Files/été/not-a-dir');
});

test('ferry:// is TLS except to loopback; ferrys:// always, ferry+ws:// never; the scheme is case-insensitive', (t) => {
  t.is(parseRemoteUrl('FERRY://h/').wsUrl, 'wss://h:7070');
  for (const loopback of ['localhost', '127.0.0.1', '127.3.2.1', '[::1]', 'app.localhost']) {
    t.is(parseRemoteUrl(`ferry://${loopback}:9/`).tls, false, loopback);
  }
  t.is(parseRemoteUrl('ferry://10.0.0.1/').tls, true);
  t.is(parseRemoteUrl('ferry://localhost.example/').tls, true);
  t.is(parseRemoteUrl('ferrys://h:443/').wsUrl, 'wss://h:443');
  t.is(parseRemoteUrl('ferrys://127.0.0.1:443/').wsUrl, 'wss://127.0.0.1:443');
  t.is(parseRemoteUrl('ferry+wss://localhost:1/').wsUrl, 'wss://localhost:1');
  t.is(parseRemoteUrl('Ferry+WS://files.example:1/').wsUrl, 'ws://files.example:1');
  for (const text of ['ferry://h', 'ferrys://h', 'ferry+ws://h', 'ferry+wss://h']) t.true(isRemoteUrl(text), text);
  t.false(isRemoteUrl('ferry+ftp://h'));
});

test('formatRemote writes the scheme that keeps the transport', (t) => {
  t.is(formatRemote({ host: 'h', port: 1, tls: true }), 'ferry://h:1/');
  t.is(formatRemote({ host: 'h', port: 1, tls: false }), 'ferry+ws://h:1/');
  t.is(formatRemote({ host: '127.0.0.1', port: 1, tls: false }), 'ferry://127.0.0.1:1/');
  t.is(formatRemote({ host: '127.0.0.1', port: 1, tls: true }), 'ferrys://127.0.0.1:1/');
  for (const tls of [true, false]) t.is(parseRemoteUrl(formatRemote({ host: 'localhost', port: 2, tls })).tls, tls);
});

test('anything else is EINVAL', (t) => {
  const bad = [
    'http://host/x',
    'ws://host:7070',
    'ferry+ftp://host/',
    '/local/path',
    'ferry:/host',
    'ferry://alice:secret@host/',
    'ferry://host:99999/',
    'ferry://host:0/',
    'ferry://host:abc/',
    'ferry://@host/',
    'ferry://host/%E0%A4%A',
    'ferry://host/a%00b',
    'ferry://host/x?y=1',
    'ferry://host/x#frag',
    'ferry://[::1/',
  ];
  for (const input of bad) {
    const error = t.throws(() => parseRemoteUrl(input), undefined, input);
    t.true(error instanceof FerryError, input);
    t.is((error as FerryError).code, 'EINVAL', input);
  }
});

test('isRemoteUrl tells URLs from local paths', (t) => {
  t.true(isRemoteUrl('ferry://h/x'));
  t.true(isRemoteUrl('Ferrys://h'));
  t.false(isRemoteUrl('./ferry://x'));
  t.false(isRemoteUrl('/tmp/a'));
  t.false(isRemoteUrl('C:\\x'));
});

test('formatRemote round-trips through parseRemoteUrl', (t) => {
  const cases = [
    { user: 'alice', host: 'h.example', port: 7070, path: '/a b/ç/%' },
    { user: 'j@ne', host: '::1', port: 9000, path: '/' },
    { host: '10.0.0.1', port: 1, path: '/deep/er/file.txt' },
  ];
  for (const remote of cases) {
    const text = formatRemote(remote);
    const parsed = parseRemoteUrl(text);
    t.is(parsed.host, remote.host, text);
    t.is(parsed.port, remote.port, text);
    t.is(parsed.path, remote.path, text);
    t.is(parsed.user, remote.user, text);
  }
  t.is(formatRemote({ user: 'alice', host: 'h', path: 'x/y' }), 'ferry://alice@h:7070/x/y');
});
