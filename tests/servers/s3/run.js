// run.js — the S3 server of the tests: s3rver on 127.0.0.1 (port 0 = a free one), data under a
// directory, one bucket created, the address printed as "listening HOST:PORT". One change to
// s3rver: it writes an object in place (a concurrent reader sees it half written, and its
// PUT may answer before the write ends); here the object goes to a temp file that is renamed
// over the old one once complete, as S3 guarantees (a reader sees the old or the new object).
// And its bucket listing walks the directory tree and fails (500) when a file goes away
// between readdir and stat (a concurrent delete or rename); here such a file is skipped.
// Usage: node run.js DIR BUCKET [PORT]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const fsp = require('fs/promises');
const path = require('path');
const { pipeline, Transform } = require('stream');
const utils = require('s3rver/lib/utils');

utils.walk = function* walk(dir, recurseFilter) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const p = path.posix.join(dir, name);
    let st;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if (err.code === 'ENOENT') continue;
      throw err;
    }
    if (!st.isDirectory()) yield p;
    else if (!recurseFilter || recurseFilter(p)) yield* walk(p, recurseFilter);
  }
};
// required after the patch: the store takes walk from utils when it loads
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const [dir, bucket, port] = process.argv.slice(2);
if (!dir || !bucket) {
  console.error('usage: node run.js DIR BUCKET [PORT]');
  process.exit(2);
}

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fsp.mkdir(path.dirname(objectPath), { recursive: true });
  const tmp = `${objectPath}.tmp-${crypto.randomBytes(6).toString('hex')}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await fsp.writeFile(tmp, object.content);
    } else {
      const count = new Transform({
        transform(chunk, enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await new Promise((resolve, reject) =>
        pipeline(object.content, count, fs.createWriteStream(tmp), err =>
          err ? reject(err) : resolve()),
      );
    }
    await fsp.rename(tmp, objectPath);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port || 0),
  directory: dir,
  silent: true,
  // virtual-host style: BUCKET.s3.localhost (curl resolves *.localhost to loopback)
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.run().then(
  addr => console.log(`listening ${addr.address}:${addr.port}`),
  err => {
    console.error(`s3rver: ${err.message}`);
    process.exit(1);
  },
);
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => server.close().finally(() => process.exit(0)));
