import { gunzipSync } from 'node:zlib';

/**
 * The files in an artifact Nx 23 stores in a self-hosted remote cache: a gzipped tar
 * of the task's outputs (workspace-relative paths) plus its `terminalOutput` and exit
 * `code`. The specification calls the format opaque and Nx may change it; the tests
 * read it only to show that a session's files, not just a cache entry, reached the
 * server.
 */
export function artifactFiles(artifact: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(artifact);
  const files = new Map<string, Buffer>();
  const text = (start: number, length: number) => {
    const field = tar.subarray(start, start + length);
    const end = field.indexOf(0);
    return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
  };
  let longName: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    if (tar.subarray(offset, offset + 512).every((byte) => byte === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(tar[offset + 156] || 48);
    const prefix = text(offset + 257, 6) === 'ustar' ? text(offset + 345, 155) : '';
    const data = tar.subarray(offset + 512, offset + 512 + size);
    const name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    longName = undefined;
    if (type === 'L') {
      // GNU long name: the data is the name of the next entry.
      longName = data.toString('utf8').replace(/\0+$/, '');
    } else if (type === 'x') {
      // POSIX extended header: a `path` record names the next entry.
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
    } else if (type === '0' || type === '\0') {
      files.set(name.replace(/^\.\//, ''), Buffer.from(data));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
