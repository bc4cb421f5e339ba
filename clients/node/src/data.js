// Fashion-MNIST (or MNIST) in IDX files, as the Java client reads them (client/.../data/IdxFiles.java): pixels
// scaled to [0, 1] by /255, labels 0-9; a partition of the training set ("FROM-TO" inclusive or "K/N"), whose last
// eval fraction is held out for evaluation.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

export const DEFAULT_DATA = '/usr/share/datasets/fashion-mnist';

function readIdx(dir, base) {
  for (const name of [base, `${base}.gz`]) {
    const file = join(dir, name);
    if (existsSync(file)) {
      const raw = readFileSync(file);
      return { file, bytes: name.endsWith('.gz') ? gunzipSync(raw) : raw };
    }
  }
  throw new Error(`no ${base}[.gz] in ${dir}`
    + (dir === DEFAULT_DATA ? ' (install it: apt-get install dataset-fashion-mnist)' : ''));
}

function header(idx, magic, dims) {
  const { file, bytes } = idx;
  if (bytes.length < 4 + 4 * dims || bytes.readUInt32BE(0) !== magic) {
    throw new Error(`${file}: not an IDX file with magic 0x${magic.toString(16)}`);
  }
  const shape = [];
  for (let i = 0; i < dims; i++) {
    shape.push(bytes.readUInt32BE(4 + 4 * i));
  }
  const offset = 4 + 4 * dims;
  const expected = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== expected) {
    throw new Error(`${file}: ${bytes.length - offset} data bytes, the header says ${expected}`);
  }
  return { shape, data: bytes.subarray(offset) };
}

/** Parses a partition spec against n examples: the selected indices, in order. */
export function partitionIndices(spec, n) {
  if (!spec || spec === 'all') {
    return Array.from({ length: n }, (_, i) => i);
  }
  let m = spec.match(/^(\d+)-(\d+)$/);
  if (m) {
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from > to || to >= n) {
      throw new Error(`partition ${spec}: not a range inside 0-${n - 1}`);
    }
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  m = spec.match(/^(\d+)\/(\d+)$/);
  if (m) {
    const k = Number(m[1]);
    const every = Number(m[2]);
    if (every < 1 || k >= every) {
      throw new Error(`partition ${spec}: K/N needs 0 <= K < N`);
    }
    const out = [];
    for (let i = k; i < n; i += every) {
      out.push(i);
    }
    return out;
  }
  throw new Error(`partition '${spec}': expected all, FROM-TO or K/N`);
}

/**
 * {train: {x, y, n}, eval: {x, y, n}, features, classes}: x a Float32Array of n × 784 pixels in [0, 1], y a
 * Uint8Array of labels.
 */
export function loadIdxDataset(dir = DEFAULT_DATA, partition = 'all', evalFraction = 0.1) {
  const images = header(readIdx(dir, 'train-images-idx3-ubyte'), 0x00000803, 3);
  const labels = header(readIdx(dir, 'train-labels-idx1-ubyte'), 0x00000801, 1);
  const [count, rows, cols] = images.shape;
  if (labels.shape[0] !== count) {
    throw new Error(`${dir}: ${count} images but ${labels.shape[0]} labels`);
  }
  const features = rows * cols;
  const idx = partitionIndices(partition, count);
  if (!(evalFraction >= 0 && evalFraction < 1)) {
    throw new Error(`eval fraction must be in [0, 1): ${evalFraction}`);
  }
  const nEval = Math.floor(idx.length * evalFraction);
  const nTrain = idx.length - nEval;
  if (nTrain < 1) {
    throw new Error(`partition ${partition} leaves no training examples`);
  }
  const take = (ids) => {
    const x = new Float32Array(ids.length * features);
    const y = new Uint8Array(ids.length);
    ids.forEach((id, i) => {
      for (let j = 0; j < features; j++) {
        x[i * features + j] = images.data[id * features + j] / 255;
      }
      const label = labels.data[id];
      if (label > 9) {
        throw new Error(`${dir}: label ${label} of example ${id} is not 0-9`);
      }
      y[i] = label;
    });
    return { x, y, n: ids.length };
  };
  return { train: take(idx.slice(0, nTrain)), eval: take(idx.slice(nTrain)), features, classes: 10 };
}
