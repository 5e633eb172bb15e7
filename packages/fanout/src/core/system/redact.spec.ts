import { createRedactor, createStreamRedactor, redactDeep, secretValues } from './redact';

describe('createRedactor', () => {
  const env = {
    FOO_KEY: 'foo-key-value-1',
    X_TOKEN: 'xtok-2222',
    MY_SECRET: 'hunter22',
    DB_PASSWORD: 'pa55word!',
    lower_api_key: 'lower-case-name',
    SHORT_KEY: 'abc12',
    PATH: '/usr/local/bin:/usr/bin',
    MONKEY: 'banana-bunch',
    HOME: '/home/someone',
  };
  const redact = createRedactor(env);

  it('replaces the values of variables named *_KEY, *_TOKEN, *_SECRET and *_PASSWORD, wherever they occur', () => {
    expect(redact('key=foo-key-value-1 token=xtok-2222 secret=hunter22 pw=pa55word! again foo-key-value-1 other=lower-case-name')).toBe(
      'key=[REDACTED] token=[REDACTED] secret=[REDACTED] pw=[REDACTED] again [REDACTED] other=[REDACTED]',
    );
  });

  it('leaves values shorter than 6 characters alone', () => {
    expect(redact('code abc12 here')).toBe('code abc12 here');
  });

  it('leaves the values of ordinary variables alone', () => {
    expect(redact('PATH=/usr/local/bin:/usr/bin in /home/someone; banana-bunch')).toBe(
      'PATH=/usr/local/bin:/usr/bin in /home/someone; banana-bunch',
    );
  });

  it('redacts strings shaped like well-known API keys, even when no variable holds them', () => {
    const anthropic = 'sk-ant-api03-AbCdEfGhIj0123456789_-xyz';
    const github = `ghp_${'a1B2'.repeat(9)}`;
    expect(createRedactor({})(`using ${anthropic} and ${github}.`)).toBe('using [REDACTED] and [REDACTED].');
  });

  it('leaves ordinary text untouched', () => {
    const text = 'Created libs/orders/src/lib/orders.handler.ts (3 files); sk-short; tests: 12 passed.\nDone.';
    expect(redact(text)).toBe(text);
  });

  it('treats a secret value as text, not as a pattern', () => {
    expect(createRedactor({ API_TOKEN: 'a.b*c+(d' })('x a.b*c+(d y aXb*c+(d')).toBe('x [REDACTED] y aXb*c+(d');
  });

  it('redacts the longer of two overlapping secrets whole', () => {
    expect(createRedactor({ A_KEY: 'secret', B_KEY: 'secret-and-more' })('secret-and-more')).toBe('[REDACTED]');
  });

  it('learns the secrets of another environment with add(), keeping those it had, the longer whole', () => {
    const growing = createRedactor({ A_KEY: 'secret' });
    expect(growing('secret-and-more, extra-token')).toBe('[REDACTED]-and-more, extra-token');
    growing.add({ B_KEY: 'secret-and-more', C_TOKEN: 'extra-token', PATH: '/usr/bin' });
    expect(growing('secret-and-more, extra-token, secret, /usr/bin')).toBe('[REDACTED], [REDACTED], [REDACTED], /usr/bin');
    // What a stream holds back grows with it: the start of a secret learnt later.
    expect(growing.unfinished?.('output extra-to')).toBe('extra-to'.length);
  });
});

describe('secretValues', () => {
  it('lists the secret values, longest first', () => {
    expect(secretValues({ A_TOKEN: 'sixsix', B_SECRET: 'seven77', C: 'not-a-secret', D_KEY: undefined })).toEqual(['seven77', 'sixsix']);
  });

  it.each(['API_KEY', 'TOKEN', 'SECRET', 'anthropic_api_key', 'GH_TOKEN'])('treats %s as a secret name', (name) => {
    expect(secretValues({ [name]: 'value-123' })).toEqual(['value-123']);
  });

  it.each(['KEYBOARD', 'MONKEY', 'TOKENIZER', 'SECRET_NAME', 'PATH'])('does not treat %s as a secret name', (name) => {
    expect(secretValues({ [name]: 'value-123' })).toEqual([]);
  });

  it('leaves words that merely contain sk- alone', () => {
    const redact = createRedactor({});
    expect(redact('libs/desk-reservation-service-handlers')).toBe('libs/desk-reservation-service-handlers');
    expect(redact('task-management-system-overview')).toBe('task-management-system-overview');
  });
});

describe('createStreamRedactor', () => {
  const secret = 'tok-0123456789-abcdef';
  const redactor = () => createStreamRedactor(createRedactor({ SERVICE_TOKEN: secret }));
  const feed = (stream: ReturnType<typeof createStreamRedactor>, chunks: (string | Buffer)[]) =>
    chunks.map((chunk) => stream.push(chunk)).join('') + stream.end();

  it('redacts a secret split across chunks at every possible point', () => {
    const text = `env: SERVICE_TOKEN=${secret}\ndone`;
    for (let cut = 1; cut < text.length; cut++) {
      const output = feed(redactor(), [text.slice(0, cut), text.slice(cut)]);
      expect(output).toBe('env: SERVICE_TOKEN=[REDACTED]\ndone');
    }
  });

  it('redacts a secret that arrives one character at a time', () => {
    const output = feed(redactor(), [...`a ${secret} b ${secret}`]);
    expect(output).toBe('a [REDACTED] b [REDACTED]');
    expect(output).not.toContain(secret.slice(0, 6));
  });

  it('redacts a key-shaped token split across chunks', () => {
    const key = `sk-ant-api03-${'Ab1'.repeat(12)}`;
    const output = feed(createStreamRedactor(createRedactor({})), [`key ${key.slice(0, 15)}`, `${key.slice(15)} end`]);
    expect(output).toBe('key [REDACTED] end');
  });

  it('decodes a character whose UTF-8 bytes are split between chunks', () => {
    const bytes = Buffer.from('größe → ok', 'utf-8');
    const output = feed(redactor(), [bytes.subarray(0, 3), bytes.subarray(3, 12), bytes.subarray(12)]);
    expect(output).toBe('größe → ok');
  });

  it('holds back only an end that could start a secret: other output flows on at once', () => {
    const stream = redactor();
    const lines = 'line of output\n'.repeat(10);
    expect(stream.push(`${lines}tail`)).toBe(`${lines}tail`);
    expect(stream.push(' key=tok-01')).toBe(' key=');
    expect(stream.push('23 and more\n')).toBe('tok-0123 and more\n');
    expect(stream.push(`x ${secret.slice(0, 8)}`)).toBe('x ');
    expect(stream.end()).toBe(secret.slice(0, 8));
  });
});

describe('redactDeep', () => {
  it('redacts every string of a result, in arrays and nested objects, and keeps the rest', () => {
    const redact = createRedactor({ DEPLOY_KEY: 'deploy-key-value' });
    const result = {
      status: 'failed',
      durationMs: 12,
      ok: true,
      none: null,
      files: [{ path: 'src/deploy-key-value.ts' }],
      steps: [{ message: 'saw deploy-key-value' }],
    };
    expect(redactDeep(result, redact)).toEqual({
      status: 'failed',
      durationMs: 12,
      ok: true,
      none: null,
      files: [{ path: 'src/[REDACTED].ts' }],
      steps: [{ message: 'saw [REDACTED]' }],
    });
    expect(result.files[0].path).toBe('src/deploy-key-value.ts');
  });
});
