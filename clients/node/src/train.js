// Local training in plain JavaScript for the catalogue's dense models (docs/CLIENT.md, "Models and weights"): "mlp"
// (784-128-10) and "mlp-large" (784-2048-1024-10), i.e. a chain of Linear layers with ReLU between them, tensors in
// pairs NAME.weight [out, in] (row-major, as DJL's Linear and PyTorch lay them out) and NAME.bias [out], and
// softmax cross-entropy over the last layer's outputs. The update is the trained full weights (FedAvg averages
// weights), like the Java DJL trainer's. Optimisers: adam (DJL's defaults: beta1 0.9, beta2 0.999, eps 1e-8) and
// sgd; FedProx's proximal term mu/2·‖w − w_global‖² when mu > 0.

/**
 * The layer structure of a manifest (with `classes` outputs, when given), or an Error saying why this trainer
 * cannot train it.
 * @returns {{layers: {in: number, out: number}[]}}
 */
export function denseStructure(manifest, features = 784, classes = null) {
  const t = manifest.tensors;
  if (t.length === 0 || t.length % 2 !== 0) {
    throw new Error(`model '${manifest.architecture}': expected pairs of weight [out, in] and bias [out] tensors`);
  }
  const layers = [];
  let width = features;
  for (let i = 0; i < t.length; i += 2) {
    const w = t[i];
    const b = t[i + 1];
    if (w.shape.length !== 2 || b.shape.length !== 1 || !w.name.endsWith('weight') || !b.name.endsWith('bias')) {
      throw new Error(`model '${manifest.architecture}': tensors ${w.name} ${JSON.stringify(w.shape)} and ${b.name} `
        + `${JSON.stringify(b.shape)} are not a dense layer (this client trains chains of Linear layers: mlp, mlp-large)`);
    }
    if (w.shape[1] !== width || b.shape[0] !== w.shape[0]) {
      throw new Error(`model '${manifest.architecture}': ${w.name} ${JSON.stringify(w.shape)} does not take ${width} `
        + 'inputs');
    }
    layers.push({ in: width, out: w.shape[0] });
    width = w.shape[0];
  }
  if (classes !== null && width !== classes) {
    throw new Error(`model '${manifest.architecture}': ${width} outputs, the data has ${classes} classes`);
  }
  return { layers };
}

/** Seeded PRNG (mulberry32) for shuffling, so a round is reproducible from its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dense {
  constructor(structure, params) {
    this.layers = structure.layers;
    this.params = params; // [W0, b0, W1, b1, ...]
    this.acts = []; // per layer input activations for the current example
    const widest = Math.max(...this.layers.map((l) => l.out));
    this.outs = this.layers.map((l) => new Float32Array(l.out));
    this.deltas = this.layers.map((l) => new Float64Array(l.out));
    this.tmp = new Float64Array(widest);
  }

  /** Forward pass for one example; returns the logits (the last layer's outputs). */
  forward(x) {
    let input = x;
    this.acts.length = 0;
    this.layers.forEach((l, k) => {
      this.acts.push(input);
      const W = this.params[2 * k];
      const b = this.params[2 * k + 1];
      const out = this.outs[k];
      const relu = k < this.layers.length - 1;
      for (let o = 0; o < l.out; o++) {
        let s = b[o];
        const row = o * l.in;
        for (let i = 0; i < l.in; i++) {
          s += W[row + i] * input[i];
        }
        out[o] = relu && s < 0 ? 0 : s;
      }
      input = out;
    });
    return input;
  }

  /**
   * Backward pass of softmax cross-entropy for label y after forward(); adds the gradients into grads and returns
   * the example's loss.
   */
  backward(y, grads) {
    const last = this.layers.length - 1;
    const logits = this.outs[last];
    let max = -Infinity;
    for (let o = 0; o < logits.length; o++) {
      max = Math.max(max, logits[o]);
    }
    let sum = 0;
    for (let o = 0; o < logits.length; o++) {
      sum += Math.exp(logits[o] - max);
    }
    const logSum = Math.log(sum) + max;
    const loss = logSum - logits[y];
    const d = this.deltas[last];
    for (let o = 0; o < logits.length; o++) {
      d[o] = Math.exp(logits[o] - logSum) - (o === y ? 1 : 0);
    }
    for (let k = last; k >= 0; k--) {
      const l = this.layers[k];
      const input = this.acts[k];
      const W = this.params[2 * k];
      const gW = grads[2 * k];
      const gb = grads[2 * k + 1];
      const dk = this.deltas[k];
      for (let o = 0; o < l.out; o++) {
        const g = dk[o];
        if (g === 0) {
          continue;
        }
        gb[o] += g;
        const row = o * l.in;
        for (let i = 0; i < l.in; i++) {
          gW[row + i] += g * input[i];
        }
      }
      if (k > 0) {
        const prev = this.deltas[k - 1];
        prev.fill(0);
        for (let o = 0; o < l.out; o++) {
          const g = dk[o];
          if (g === 0) {
            continue;
          }
          const row = o * l.in;
          for (let i = 0; i < l.in; i++) {
            prev[i] += g * W[row + i];
          }
        }
        for (let i = 0; i < l.in; i++) {
          if (input[i] <= 0) {
            prev[i] = 0; // ReLU
          }
        }
      }
    }
    return loss;
  }
}

/** Mean loss and accuracy of the model on a data split. */
export function evaluate(manifest, tensors, split, features = 784) {
  const structure = denseStructure(manifest, features);
  const net = new Dense(structure, tensors.map((t) => Float32Array.from(t)));
  let loss = 0;
  let correct = 0;
  for (let e = 0; e < split.n; e++) {
    const logits = net.forward(split.x.subarray(e * features, (e + 1) * features));
    let max = -Infinity;
    let arg = 0;
    for (let o = 0; o < logits.length; o++) {
      if (logits[o] > max) {
        max = logits[o];
        arg = o;
      }
    }
    let sum = 0;
    for (let o = 0; o < logits.length; o++) {
      sum += Math.exp(logits[o] - max);
    }
    loss += Math.log(sum) + max - logits[split.y[e]];
    if (arg === split.y[e]) {
      correct++;
    }
  }
  return { loss: split.n ? loss / split.n : NaN, accuracy: split.n ? correct / split.n : NaN, examples: split.n };
}

/**
 * Trains from the global weights for the task's configuration.
 * @param config {localEpochs, batchSize, learningRate, proximalMu, optimizer}
 * @returns {{tensors: Float32Array[], loss: number, examples: number, steps: number}}
 */
export function fit(manifest, globalTensors, split, config, seed = 1, features = 784) {
  const structure = denseStructure(manifest, features);
  const optimizer = (config.optimizer || 'adam').toLowerCase();
  if (optimizer !== 'adam' && optimizer !== 'sgd') {
    throw new Error(`optimizer '${config.optimizer}': this client trains with adam or sgd`);
  }
  const epochs = Math.max(1, config.localEpochs || 1);
  const batch = Math.max(1, config.batchSize || 32);
  const lr = config.learningRate;
  const mu = config.proximalMu || 0;
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new Error(`learning rate ${lr} is not a positive number`);
  }
  const params = globalTensors.map((t) => Float32Array.from(t));
  const grads = params.map((p) => new Float64Array(p.length));
  const m = optimizer === 'adam' ? params.map((p) => new Float64Array(p.length)) : null;
  const v = optimizer === 'adam' ? params.map((p) => new Float64Array(p.length)) : null;
  const net = new Dense(structure, params);
  const random = rng(seed);
  const order = Array.from({ length: split.n }, (_, i) => i);
  let step = 0;
  let lossSum = 0;
  let seen = 0;
  let lastEpochLoss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let epochLoss = 0;
    for (let start = 0; start < order.length; start += batch) {
      const end = Math.min(order.length, start + batch);
      grads.forEach((g) => g.fill(0));
      for (let b = start; b < end; b++) {
        const e = order[b];
        net.forward(split.x.subarray(e * features, (e + 1) * features));
        const l = net.backward(split.y[e], grads);
        epochLoss += l;
      }
      const scale = 1 / (end - start);
      step++;
      const bc1 = 1 - 0.9 ** step;
      const bc2 = 1 - 0.999 ** step;
      params.forEach((p, k) => {
        const g = grads[k];
        const w0 = globalTensors[k];
        for (let i = 0; i < p.length; i++) {
          let gi = g[i] * scale;
          if (mu > 0) {
            gi += mu * (p[i] - w0[i]);
          }
          if (m) {
            m[k][i] = 0.9 * m[k][i] + 0.1 * gi;
            v[k][i] = 0.999 * v[k][i] + 0.001 * gi * gi;
            p[i] -= lr * (m[k][i] / bc1) / (Math.sqrt(v[k][i] / bc2) + 1e-8);
          } else {
            p[i] -= lr * gi;
          }
        }
      });
    }
    lossSum += epochLoss;
    seen += order.length;
    lastEpochLoss = epochLoss / order.length;
  }
  for (const p of params) {
    for (let i = 0; i < p.length; i++) {
      if (!Number.isFinite(p[i])) {
        throw new Error('training diverged: a weight is not finite');
      }
    }
  }
  return { tensors: params, loss: lastEpochLoss, meanLoss: lossSum / seen, examples: split.n, steps: step };
}
