// The client agent's loop, mirroring the Java one (docs/CLIENT.md, "What the agent does each round"):
// GetChallenge → Hello → GetTask (stream) → verify the task statement and the model signature with the pinned
// coordinator key, over the digest computed here → train → sign the update statement → SubmitUpdate (stream) with
// the signature in the trailer. NO_TASK: poll again; FINISHED: stop.
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import {
  sessionStatement, taskStatement, modelStatement, updateStatement, evaluationStatement, enrollmentStatement,
  payloadDigest, TASK_KIND,
} from './encoding.js';
import { verify } from './keys.js';
import {
  ModelReceiver, manifestFromWire, manifestToWire, encodeModel, chunks, sameManifest,
} from './tensors.js';
import { denseStructure, fit, evaluate } from './train.js';
import {
  grpc, unary, deadline, sessionMetadata, reasonOf, describe, codeName, localError,
} from './rpc.js';

const CALL_MS = 30_000;

/** A task the coordinator served that this client will not train on (logged, and the client polls again). */
export class TaskRefused extends Error {}

export class Backoff {
  constructor(initialMs = 250, maxMs = 30_000) {
    this.initial = initialMs;
    this.max = maxMs;
    this.ceiling = initialMs;
  }

  /** A wait between half and all of a ceiling that doubles up to max. */
  next() {
    const c = this.ceiling;
    this.ceiling = Math.min(this.max, this.ceiling * 2);
    return Math.round(c / 2 + Math.random() * (c / 2));
  }

  reset() {
    this.ceiling = this.initial;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hex(b) {
  return Buffer.from(b ?? []).toString('hex');
}

/** The newest task and model rounds accepted per federation and coordinator key (pqfl client --state-file). */
class ClientState {
  constructor(file) {
    this.file = file;
    this.data = {};
    if (file && existsSync(file)) {
      try {
        this.data = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new Error(`state file ${file} is not readable JSON: ${e.message}`);
      }
    }
  }

  get(fed, key) {
    return this.data[`${fed}/${key}`] ?? { task: 0, model: 0 };
  }

  accepted(fed, key, taskRound, modelRound) {
    const k = `${fed}/${key}`;
    const cur = this.get(fed, key);
    this.data[k] = { task: Math.max(cur.task, taskRound), model: Math.max(cur.model, modelRound) };
    if (this.file) {
      writeFileSync(`${this.file}.tmp`, `${JSON.stringify(this.data, null, 2)}\n`);
      renameSync(`${this.file}.tmp`, this.file);
    }
  }
}

export class NodeClient {
  /**
   * @param opts {stub, clientId, signer, coordinatorKey: {scheme, raw, keyId}, dataset, pollSeconds, maxRounds,
   *   tamper, timeoutSeconds, stateFile, enrollToken, seed, log}
   */
  constructor(opts) {
    this.o = opts;
    this.stub = opts.stub;
    this.log = opts.log ?? ((line) => console.log(line));
    this.token = null;
    this.federationId = null;
    this.state = new ClientState(opts.stateFile);
    this.counts = { trained: 0, accepted: 0, refused: 0, evaluated: 0, tasksRefused: 0 };
    this.startedAt = Date.now();
  }

  #checkTime() {
    const t = this.o.timeoutSeconds;
    if (t > 0 && Date.now() - this.startedAt > t * 1000) {
      throw new Error(`gave up after --timeout ${t}s (${this.counts.trained} rounds trained, `
        + `${this.counts.accepted} updates accepted)`);
    }
  }

  /** Retries a call while the coordinator is unavailable or busy (with backoff), within --timeout. */
  async #retrying(what, fn) {
    const backoff = new Backoff();
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        const reason = reasonOf(e);
        const transient = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED,
          grpc.status.ABORTED].includes(e.code) || reason === 'BUSY' || reason === 'RATE_LIMITED';
        if (!transient || e.code === undefined) {
          throw e;
        }
        this.#checkTime();
        const wait = backoff.next();
        this.log(`${what}: coordinator unavailable or busy: ${describe(e)}; retrying in ${wait} ms`);
        await sleep(wait);
      }
    }
  }

  async enroll(token) {
    const { signer, clientId } = this.o;
    await this.#retrying('enrollment', async () => {
      try {
        const ch = await unary(this.stub, 'BeginEnrollment', { client_id: clientId, public_key: signer.spki },
          { timeoutMs: CALL_MS });
        const proof = signer.sign(enrollmentStatement({
          federationId: ch.federation_id, clientId, challenge: ch.challenge, keyId: signer.keyId, token,
        }));
        const r = await unary(this.stub, 'CompleteEnrollment', {
          client_id: clientId, public_key: signer.spki, token, challenge: ch.challenge, signature: proof,
        }, { timeoutMs: CALL_MS });
        this.log(`enrolled in federation ${r.federation_id} as ${clientId} with key ${r.key_id}`);
      } catch (e) {
        if (e.code === grpc.status.ALREADY_EXISTS) {
          this.log(`already enrolled (${e.details}); the token was not used`);
          return;
        }
        throw e;
      }
    });
  }

  /** GetChallenge, sign the session statement (proof of possession), Hello: the session token. */
  async hello() {
    try {
      await this.#helloRetrying();
    } catch (e) {
      if (e.code !== undefined) {
        throw new Error(`Hello refused: ${describe(e)}`);
      }
      throw e;
    }
  }

  async #helloRetrying() {
    const { signer, clientId, coordinatorKey } = this.o;
    await this.#retrying('hello', async () => {
      const ch = await unary(this.stub, 'GetChallenge', { client_id: clientId }, { timeoutMs: CALL_MS });
      if (ch.coordinator_key_id !== coordinatorKey.keyId) {
        throw new Error(`the coordinator announces key ${/^[0-9a-f]{32}$/.test(ch.coordinator_key_id)
          ? ch.coordinator_key_id : '(malformed)'}, but this client pinned ${coordinatorKey.keyId}: it will not `
          + 'authenticate to it nor train on its models');
      }
      if (this.federationId && ch.federation_id !== this.federationId) {
        throw new Error(`the coordinator now serves federation ${ch.federation_id}, not ${this.federationId}`);
      }
      const proof = signer.sign(sessionStatement({
        federationId: ch.federation_id, coordinatorKeyId: coordinatorKey.keyId, clientId,
        keyId: signer.keyId, scheme: signer.scheme, challenge: ch.challenge,
      }));
      const r = await unary(this.stub, 'Hello', {
        client_id: clientId, key_id: signer.keyId, scheme: signer.scheme,
        agent: `pqfl-node-client/0.1 node/${process.versions.node}`,
        challenge: ch.challenge, signature: proof,
      }, { timeoutMs: CALL_MS });
      if (r.coordinator_key_id !== coordinatorKey.keyId) {
        this.log(`warning: the coordinator announces model key ${r.coordinator_key_id}, but the pinned key is `
          + `${coordinatorKey.keyId}: its models will be refused`);
      }
      this.federationId = r.federation_id;
      this.token = r.session_token;
      this.log(`joined federation ${r.federation_id} as ${clientId} (${signer.scheme} key ${signer.keyId}), `
        + `state ${r.state}`);
    });
  }

  /** One long poll: the task's header, the model (digested and decoded as it arrives) and its signature. */
  fetchTask() {
    const waitMs = Math.round(this.o.pollSeconds * 1000);
    return new Promise((res, rej) => {
      const call = this.stub.GetTask({ client_id: this.o.clientId, wait_ms: waitMs }, sessionMetadata(this.token),
        { deadline: deadline(waitMs + CALL_MS) });
      let header = null;
      let receiver = null;
      let done = false;
      const fail = (err) => {
        if (!done) {
          done = true;
          call.cancel();
          rej(err);
        }
      };
      call.on('data', (chunk) => {
        if (done) {
          return;
        }
        try {
          if (!header) {
            if (chunk.part !== 'header') {
              throw new Error('task stream did not start with a header');
            }
            header = chunk.header;
            receiver = new ModelReceiver(manifestFromWire(header.manifest));
          } else if (chunk.part === 'model_chunk') {
            receiver.accept(chunk.model_chunk);
          } else if (chunk.part === 'model_signature') {
            const model = receiver.finish();
            done = true; // the coordinator ends the stream after the signature; the deadline bounds it otherwise
            res({ header, model, signature: chunk.model_signature });
          }
        } catch (e) {
          fail(localError(grpc.status.INTERNAL, `malformed task stream: ${e.message}`));
        }
      });
      call.on('error', (err) => {
        if (!done) {
          done = true;
          rej(err);
        }
      });
      call.on('end', () => fail(localError(grpc.status.INTERNAL, header
        ? 'task stream ended without the model signature' : 'task stream ended without a header')));
    });
  }

  /** Every check before training (docs/CLIENT.md step 2); returns the task's kind. */
  verifyTask(task) {
    const { header: h, model, signature: ms } = task;
    const pinned = this.o.coordinatorKey;
    if (h.client_id !== this.o.clientId) {
      throw new TaskRefused(`the task is for client '${h.client_id}', not ${this.o.clientId}`);
    }
    if (h.federation_id !== this.federationId) {
      throw new TaskRefused(`the task is for federation '${h.federation_id}', not ${this.federationId}`);
    }
    const kind = Object.hasOwn(TASK_KIND, h.kind) ? TASK_KIND[h.kind] : null;
    if (!kind) {
      throw new TaskRefused(`task kind ${h.kind} is neither TRAIN nor EVALUATE`);
    }
    const cfg = h.config ?? {};
    const statement = taskStatement({
      federationId: h.federation_id, kind, round: h.round, nonce: h.nonce, clientId: h.client_id,
      modelRound: h.model_round, modelDigest: model.digest, localEpochs: cfg.local_epochs,
      batchSize: cfg.batch_size, learningRate: cfg.learning_rate, proximalMu: cfg.proximal_mu,
      optimizer: cfg.optimizer, deadlineUnixMs: h.deadline_unix_ms, scheme: pinned.scheme, keyId: pinned.keyId,
    });
    if (!verify(pinned.scheme, pinned.raw, statement, h.signature)) {
      throw new TaskRefused(`the task statement's signature does not verify with the pinned coordinator key ${
        pinned.keyId} (over the model digest computed here, ${hex(model.digest).slice(0, 16)}…)`);
    }
    if (!ms) {
      throw new TaskRefused('no model signature');
    }
    if (ms.key_id !== pinned.keyId || ms.scheme !== pinned.scheme) {
      throw new TaskRefused(`the model is signed by ${ms.scheme} key ${ms.key_id}, not the pinned ${pinned.scheme} key `
        + `${pinned.keyId}`);
    }
    if (ms.federation_id !== this.federationId) {
      throw new TaskRefused(`the model is for federation '${ms.federation_id}'`);
    }
    if (!Buffer.from(ms.model_digest).equals(model.digest)) {
      throw new TaskRefused(`the model bytes digest to ${hex(model.digest).slice(0, 16)}…, the signed statement says `
        + `${hex(ms.model_digest).slice(0, 16)}…`);
    }
    const signedModel = modelStatement({
      federationId: ms.federation_id, modelRound: ms.model_round, modelDigest: model.digest,
      parentModelDigest: ms.parent_model_digest, ledgerHead: ms.ledger_head,
      strategyStateDigest: ms.strategy_state_digest,
      receipt: ms.receipt.map((r) => ({ clientId: r.client_id, updateDigest: r.update_digest,
        numExamples: r.num_examples })),
      scheme: ms.scheme, keyId: ms.key_id,
    });
    if (!verify(pinned.scheme, pinned.raw, signedModel, ms.signature)) {
      throw new TaskRefused('the model statement\'s signature does not verify with the pinned coordinator key');
    }
    if (BigInt(ms.model_round) !== BigInt(h.model_round)) {
      throw new TaskRefused(`the task names model round ${h.model_round}, the model's signed statement says `
        + `${ms.model_round}`);
    }
    const round = BigInt(h.round);
    const modelRound = BigInt(h.model_round);
    if (kind === TASK_KIND.TRAIN ? modelRound >= round : modelRound !== round) {
      throw new TaskRefused(`a ${h.kind} task for round ${round} with a model of round ${modelRound}`);
    }
    const seen = this.state.get(this.federationId, pinned.keyId);
    if (Number(round) < seen.task) {
      throw new TaskRefused(`the task is for round ${round}, but this client already accepted round ${seen.task}'s `
        + 'task (an old task replayed?)');
    }
    if (Number(modelRound) < seen.model) {
      throw new TaskRefused(`the model is from round ${modelRound}, older than the round ${seen.model} model this `
        + 'client already trained on (an old model replayed?)');
    }
    if (h.secure_aggregation && kind === TASK_KIND.TRAIN) {
      throw new TaskRefused('the round runs secure aggregation, which this client does not implement');
    }
    try {
      denseStructure(model.manifest, this.o.dataset.features, this.o.dataset.classes);
    } catch (e) {
      throw new TaskRefused(e.message);
    }
    this.state.accepted(this.federationId, pinned.keyId, Number(round), Number(modelRound));
    return kind;
  }

  /** Streams header, chunks and trailer; resolves with the SubmitResponse. */
  submit(header, bytes, signature) {
    const timeoutMs = Math.max(CALL_MS, Number(BigInt(this.currentDeadline) - BigInt(Date.now())) + 10_000);
    return new Promise((res, rej) => {
      const call = this.stub.SubmitUpdate(sessionMetadata(this.token), { deadline: deadline(timeoutMs) },
        (err, response) => (err ? rej(err) : res(response)));
      const messages = [{ header }, ...[...chunks(bytes)].map((c) => ({ tensor_chunk: c })),
        { trailer: { signature } }];
      let i = 0;
      const pump = () => {
        while (i < messages.length) {
          const ok = call.write(messages[i++]);
          if (!ok) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      call.on('error', () => {}); // the callback gets the status
      pump();
    });
  }

  async #train(task) {
    const { header: h, model } = task;
    const cfg = h.config;
    const round = Number(h.round);
    const t0 = Date.now();
    const result = fit(model.manifest, model.tensors, this.o.dataset.train, {
      localEpochs: cfg.local_epochs, batchSize: cfg.batch_size, learningRate: cfg.learning_rate,
      proximalMu: cfg.proximal_mu, optimizer: cfg.optimizer,
    }, (this.o.seed ?? 1) * 1000003 + round, this.o.dataset.features);
    const trainMillis = Date.now() - t0;
    const held = this.o.dataset.eval.n > 0
      ? evaluate(model.manifest, result.tensors, this.o.dataset.eval, this.o.dataset.features) : null;
    this.counts.trained++;

    const bytes = encodeModel(model.manifest, result.tensors);
    const updateDigest = payloadDigest(model.manifest, bytes);
    const { signer, clientId } = this.o;
    const signature = signer.sign(updateStatement({
      federationId: this.federationId, round: h.round, nonce: h.nonce, baseModelDigest: model.digest,
      clientId, keyId: signer.keyId, scheme: signer.scheme, updateDigest, numExamples: result.examples,
    }));
    if (this.o.tamper) {
      // After signing: the lowest mantissa bit of the first weight, so the update stays finite and well-formed and
      // only the signature can catch it.
      bytes[0] ^= 0x01;
    }
    const metrics = { loss: result.loss, train_millis: trainMillis };
    if (held) {
      Object.assign(metrics, { eval_loss: held.loss, eval_accuracy: held.accuracy, eval_examples: held.examples });
    }
    const header = {
      federation_id: this.federationId, round: h.round, nonce: h.nonce, client_id: clientId,
      key_id: signer.keyId, scheme: signer.scheme, base_model_digest: model.digest,
      manifest: manifestToWire(model.manifest), num_examples: String(result.examples),
      update_bytes: String(bytes.length),
      metrics: {
        train_loss: result.loss, eval_loss: held?.loss ?? 0, eval_accuracy: held?.accuracy ?? 0,
        eval_examples: String(held?.examples ?? 0), train_millis: String(trainMillis), metrics,
      },
    };
    const summary = `local loss ${result.loss.toFixed(4)}${held ? `, held-out loss ${held.loss.toFixed(4)} accuracy `
      + `${held.accuracy.toFixed(4)} on ${held.examples}` : ''}, ${result.examples} examples, ${trainMillis} ms`;
    const tampered = this.o.tamper ? ' [update altered after signing: --tamper]' : '';
    this.currentDeadline = h.deadline_unix_ms;
    const backoff = new Backoff();
    for (;;) {
      try {
        const r = await this.submit(header, bytes, signature);
        this.counts.accepted++;
        // The coordinator leaves update_digest empty for SubmitUpdate today; when it sends one, it must be ours.
        const reported = Buffer.from(r.update_digest ?? []);
        const digestNote = reported.length === 0 || reported.equals(updateDigest) || this.o.tamper ? ''
          : ` (warning: the coordinator reports update digest ${hex(reported).slice(0, 16)}…, not ours)`;
        this.log(`round ${round}: update ACCEPTED (ledger entry ${r.ledger_seq}); ${summary}${tampered}${digestNote}`);
        return;
      } catch (e) {
        const reason = reasonOf(e);
        const beforeDeadline = Date.now() < Number(h.deadline_unix_ms);
        if (reason === 'SESSION_INVALID' && beforeDeadline) {
          this.log(`round ${round}: session ended (${e.details}); saying Hello again`);
          await this.hello();
          continue;
        }
        const transient = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(e.code)
          || reason === 'BUSY' || reason === 'RATE_LIMITED';
        if (transient && beforeDeadline && e.code !== undefined) {
          this.#checkTime();
          const wait = backoff.next();
          this.log(`round ${round}: upload failed (${describe(e)}); retrying in ${wait} ms`);
          await sleep(wait);
          continue;
        }
        this.counts.refused++;
        this.log(`round ${round}: update REFUSED: ${reason ?? 'no reason'} — gRPC status ${codeName(e.code)}: `
          + `${e.details ?? e.message}; ${summary}${tampered}`);
        return;
      }
    }
  }

  async #evaluate(task) {
    const { header: h, model } = task;
    const round = Number(h.round);
    if (this.o.dataset.eval.n === 0) {
      this.log(`round ${round}: evaluation task declined: no held-out examples (--eval-fraction 0)`);
      return;
    }
    const r = evaluate(model.manifest, model.tensors, this.o.dataset.eval, this.o.dataset.features);
    const { signer, clientId } = this.o;
    const metrics = { accuracy: r.accuracy };
    const signature = signer.sign(evaluationStatement({
      federationId: this.federationId, round: h.round, nonce: h.nonce, clientId, modelDigest: model.digest,
      loss: r.loss, numExamples: r.examples, metrics, scheme: signer.scheme, keyId: signer.keyId,
    }));
    try {
      const resp = await this.#retrying(`round ${round} evaluation`, () => unary(this.stub, 'SubmitEvaluation', {
        federation_id: this.federationId, round: h.round, nonce: h.nonce, client_id: clientId,
        model_digest: model.digest, loss: r.loss, num_examples: String(r.examples), metrics,
        key_id: signer.keyId, scheme: signer.scheme, signature,
      }, { metadata: sessionMetadata(this.token), timeoutMs: CALL_MS }));
      this.counts.evaluated++;
      this.log(`round ${round}: evaluation ACCEPTED (ledger entry ${resp.ledger_seq}): loss ${r.loss.toFixed(4)} `
        + `accuracy ${r.accuracy.toFixed(4)} on ${r.examples} examples`);
    } catch (e) {
      if (e.code === undefined) {
        throw e;
      }
      this.log(`round ${round}: evaluation REFUSED: ${reasonOf(e) ?? 'no reason'} — gRPC status ${codeName(e.code)}: `
        + `${e.details}`);
    }
  }

  /** Runs until FINISHED, --max-rounds trained rounds, or an error. Returns the counts. */
  async run() {
    if (this.o.enrollToken) {
      await this.enroll(this.o.enrollToken);
    }
    await this.hello();
    const polls = new Backoff();
    let consecutiveRefusals = 0;
    let lastWaitingLog = 0;
    for (;;) {
      this.#checkTime();
      let task;
      try {
        task = await this.fetchTask();
        polls.reset();
      } catch (e) {
        const reason = reasonOf(e);
        if (e.code === grpc.status.OUT_OF_RANGE) {
          this.log(`federation ${this.federationId} finished (${e.details}); ${this.counts.trained} rounds trained, `
            + `${this.counts.accepted} updates accepted, ${this.counts.refused} refused, ${this.counts.evaluated} `
            + 'evaluations accepted');
          return this.counts;
        }
        if (e.code === grpc.status.NOT_FOUND) {
          if (Date.now() - lastWaitingLog > 60_000) {
            this.log(`no task yet (${e.details}); polling again`);
            lastWaitingLog = Date.now();
          }
          continue;
        }
        if (reason === 'SESSION_INVALID') {
          this.log(`session ended (${e.details}); saying Hello again`);
          await this.hello();
          continue;
        }
        if (e.code === undefined) {
          throw e;
        }
        const retry = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED,
          grpc.status.ABORTED, grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(e.code)
          || reason === 'BUSY' || reason === 'RATE_LIMITED';
        if (!retry) {
          throw new Error(`GetTask failed: ${describe(e)}`);
        }
        const wait = polls.next();
        this.log(`task poll failed: ${describe(e)}; retrying in ${wait} ms`);
        await sleep(wait);
        continue;
      }
      let kind;
      try {
        kind = this.verifyTask(task);
        consecutiveRefusals = 0;
      } catch (e) {
        if (!(e instanceof TaskRefused)) {
          throw e;
        }
        this.counts.tasksRefused++;
        consecutiveRefusals++;
        this.log(`round ${task.header.round}: refusing the task: ${e.message}`);
        if (consecutiveRefusals >= 3) {
          throw new Error('three tasks in a row failed verification; stopping');
        }
        await sleep(polls.next());
        continue;
      }
      if (kind === TASK_KIND.EVALUATE) {
        await this.#evaluate(task);
        continue;
      }
      await this.#train(task);
      if (this.o.maxRounds > 0 && this.counts.trained >= this.o.maxRounds) {
        this.log(`stopping after ${this.counts.trained} trained round(s) (--max-rounds); ${this.counts.accepted} `
          + `updates accepted, ${this.counts.refused} refused`);
        return this.counts;
      }
    }
  }
}
