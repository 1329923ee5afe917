// png.mjs — for the browser tests: how many distinct colours a PNG screenshot has (a blank one
// has a handful), read from the PNG bytes with node's zlib, no image library.
import zlib from 'node:zlib';

// A PNG is "not blank" when it has more than a handful of distinct colours: decoded from the
// file itself (zlib inflate of the IDAT chunks; 8-bit RGB or RGBA, filter bytes skipped over).
export function pngColours(buf) {
  let off = 8, w = 0, hgt = 0, ch = 3;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') { w = data.readUInt32BE(0); hgt = data.readUInt32BE(4); ch = data[9] === 6 ? 4 : 3; }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const seen = new Set();
  const stride = w * ch + 1;
  for (let y = 0; y < hgt; y += 7) {
    for (let x = 0; x < w; x += 5) {
      const p = y * stride + 1 + x * ch;
      seen.add((raw[p] << 16) | (raw[p + 1] << 8) | raw[p + 2]);
      if (seen.size > 64) return seen.size;
    }
  }
  return seen.size;
}
