package io.pqfl.protocol;

import com.google.protobuf.ByteString;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.proto.v1.ModelSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The one mapping between wire messages ({@code io.pqfl.proto.v1}) and the protocol's domain types. Every
 * decoding method validates and throws {@link IllegalArgumentException} with a message fit for a client.
 */
public final class WireMapping {
    private WireMapping() {
    }

    public static io.pqfl.proto.v1.ModelManifest toWire(ModelManifest m) {
        var b = io.pqfl.proto.v1.ModelManifest.newBuilder().setArchitecture(m.architecture());
        for (TensorSpec t : m.tensors()) {
            var tb = io.pqfl.proto.v1.TensorSpec.newBuilder().setName(t.name()).setDtype(t.dtype().wireName());
            t.shape().forEach(d -> tb.addShape(d));
            b.addTensors(tb);
        }
        return b.build();
    }

    public static ModelManifest fromWire(io.pqfl.proto.v1.ModelManifest m) {
        List<TensorSpec> tensors = new ArrayList<>();
        for (var t : m.getTensorsList()) {
            DType dtype = DType.fromWireName(t.getName(), t.getDtype());
            List<Integer> shape = new ArrayList<>();
            for (long d : t.getShapeList()) {
                if (d <= 0 || d > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("tensor " + t.getName() + ": bad dimension " + d);
                }
                shape.add((int) d);
            }
            tensors.add(new TensorSpec(t.getName(), shape, dtype));
        }
        return new ModelManifest(m.getArchitecture(), tensors);
    }

    public static io.pqfl.proto.v1.TrainingConfig toWire(TrainingConfig c) {
        return io.pqfl.proto.v1.TrainingConfig.newBuilder().setLocalEpochs(c.localEpochs()).setBatchSize(c.batchSize())
                .setLearningRate(c.learningRate()).setProximalMu(c.proximalMu()).setOptimizer(c.optimizer()).build();
    }

    public static TrainingConfig fromWire(io.pqfl.proto.v1.TrainingConfig c) {
        return new TrainingConfig(c.getLocalEpochs(), c.getBatchSize(), c.getLearningRate(), c.getProximalMu(),
                c.getOptimizer());
    }

    public static ByteString bytes(PayloadDigest d) {
        return d == null ? ByteString.EMPTY : ByteString.copyFrom(d.bytes());
    }

    public static PayloadDigest digest(ByteString b, String field) {
        if (b.size() != PayloadDigest.BYTES) {
            throw new IllegalArgumentException(field + " must be " + PayloadDigest.BYTES + " bytes, got " + b.size());
        }
        return PayloadDigest.ofBytes(b.toByteArray());
    }

    /**
     * An update's header from the wire (client, key, scheme, digests and the bounds of its local metrics
     * ({@link ClientMetrics}) validated; nothing checked against a round).
     * Empty {@code key_id} and {@code scheme} are a header that announces no key (the unsigned baseline); one without
     * the other is malformed.
     */
    public static UpdateHeader fromWire(io.pqfl.proto.v1.UpdateHeader h) {
        boolean unannounced = h.getKeyId().isEmpty();
        if (unannounced != h.getScheme().isEmpty()) {
            throw new IllegalArgumentException("an update header announces key_id and scheme together, or neither "
                    + "(unsigned); this one has " + (unannounced ? "a scheme without a key_id" : "a key_id without a scheme"));
        }
        try {
            ClientMetrics.check(h.getMetrics().getMetricsMap());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("local metrics: " + e.getMessage(), e);
        }
        return new UpdateHeader(h.getFederationId(), h.getRound(), RoundNonce.of(h.getNonce().toByteArray()),
                new ClientId(h.getClientId()), unannounced ? null : new KeyId(h.getKeyId()),
                unannounced ? null : scheme(h.getScheme()), digest(h.getBaseModelDigest(), "base_model_digest"),
                fromWire(h.getManifest()), h.getNumExamples(), h.getUpdateBytes());
    }

    /**
     * The wire form of an update's header, without the client's local metrics (which the signature does not cover);
     * a header that announces no key leaves {@code key_id} and {@code scheme} unset.
     */
    public static io.pqfl.proto.v1.UpdateHeader toWire(UpdateHeader h) {
        var b = io.pqfl.proto.v1.UpdateHeader.newBuilder().setFederationId(h.federationId()).setRound(h.round())
                .setNonce(ByteString.copyFrom(h.nonce().bytes())).setClientId(h.clientId().value())
                .setBaseModelDigest(bytes(h.baseModelDigest())).setManifest(toWire(h.manifest()))
                .setNumExamples(h.numExamples()).setUpdateBytes(h.declaredBytes());
        if (h.announcesKey()) {
            b.setKeyId(h.keyId().hex()).setScheme(h.scheme().displayName());
        }
        return b.build();
    }

    public static SignatureScheme scheme(String name) {
        return SignatureScheme.parse(name);
    }

    public static ModelSignature toWire(SignedModel model) {
        ModelStatement s = model.statement();
        var b = ModelSignature.newBuilder()
                .setFederationId(s.federationId())
                .setModelRound(s.modelRound())
                .setModelDigest(bytes(s.modelDigest()))
                .setParentModelDigest(bytes(s.parentModelDigest()))
                .setLedgerHead(ByteString.copyFrom(s.ledgerHead().bytes()))
                .setStrategyStateDigest(bytes(s.strategyStateDigest()))
                .setScheme(s.scheme().displayName())
                .setKeyId(s.coordinatorKeyId().hex())
                .setSignature(ByteString.copyFrom(model.signature().bytes()));
        for (ReceiptEntry e : s.receipt()) {
            b.addReceipt(io.pqfl.proto.v1.ReceiptEntry.newBuilder().setClientId(e.clientId().value())
                    .setUpdateDigest(bytes(e.updateDigest())).setNumExamples(e.numExamples()));
        }
        return b.build();
    }

    /** The task header that carries a signed task statement (the model's manifest and size ride along). */
    public static io.pqfl.proto.v1.TaskHeader toWire(TaskStatement s, ModelManifest manifest, byte[] signature) {
        return io.pqfl.proto.v1.TaskHeader.newBuilder()
                .setFederationId(s.federationId())
                .setKind(toWire(s.kind()))
                .setRound(s.round())
                .setNonce(ByteString.copyFrom(s.nonce().bytes()))
                .setClientId(s.clientId().value())
                .setConfig(toWire(s.config()))
                .setManifest(toWire(manifest))
                .setModelRound(s.modelRound())
                .setModelBytes(manifest.totalBytes())
                .setDeadlineUnixMs(s.deadlineUnixMs())
                .setSignature(ByteString.copyFrom(signature))
                .build();
    }

    /**
     * The task statement a client rebuilds from a task header, the digest it computed over the model bytes
     * it received, and the coordinator key it pinned.
     */
    public static TaskStatement taskStatement(io.pqfl.proto.v1.TaskHeader h, PayloadDigest receivedModelDigest,
                                              SignatureScheme coordinatorScheme, KeyId coordinatorKeyId) {
        return new TaskStatement(h.getFederationId(), fromWire(h.getKind()), h.getRound(), RoundNonce.of(h.getNonce().toByteArray()),
                new ClientId(h.getClientId()), h.getModelRound(), receivedModelDigest, fromWire(h.getConfig()),
                h.getDeadlineUnixMs(), coordinatorScheme, coordinatorKeyId);
    }

    public static io.pqfl.proto.v1.TaskKind toWire(TaskKind k) {
        return switch (k) {
            case TRAIN -> io.pqfl.proto.v1.TaskKind.TRAIN;
            case EVALUATE -> io.pqfl.proto.v1.TaskKind.EVALUATE;
        };
    }

    /** A task header's kind; a header without one (or with one this version does not know) is refused. */
    public static TaskKind fromWire(io.pqfl.proto.v1.TaskKind k) {
        return switch (k) {
            case TRAIN -> TaskKind.TRAIN;
            case EVALUATE -> TaskKind.EVALUATE;
            case TASK_KIND_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalArgumentException(
                    "the task header names no task kind this client knows (" + k + ")");
        };
    }

    /**
     * The evaluation report that carries {@code s}: signed with {@code signature}, or, when it is null (the unsigned
     * baseline), announcing no key, scheme or signature.
     */
    public static io.pqfl.proto.v1.EvaluationReport toWire(EvaluationStatement s, SignatureValue signature) {
        var b = io.pqfl.proto.v1.EvaluationReport.newBuilder()
                .setFederationId(s.federationId())
                .setRound(s.round())
                .setNonce(ByteString.copyFrom(s.nonce().bytes()))
                .setClientId(s.clientId().value())
                .setModelDigest(bytes(s.modelDigest()))
                .setLoss(s.loss())
                .setNumExamples(s.numExamples())
                .putAllMetrics(s.metrics());
        if (signature != null) {
            b.setKeyId(s.keyId().hex()).setScheme(s.scheme().displayName())
                    .setSignature(ByteString.copyFrom(signature.bytes()));
        }
        return b.build();
    }

    /**
     * The evaluation statement a report claims, attributed to {@code keyId} and {@code scheme} (the key it announces,
     * or in the unsigned baseline the session's). Loss, example count and metrics are validated by the statement.
     */
    public static EvaluationStatement evaluationStatement(io.pqfl.proto.v1.EvaluationReport r, KeyId keyId,
                                                          SignatureScheme scheme) {
        return new EvaluationStatement(r.getFederationId(), r.getRound(), RoundNonce.of(r.getNonce().toByteArray()),
                new ClientId(r.getClientId()), digest(r.getModelDigest(), "model_digest"), r.getLoss(), r.getNumExamples(),
                r.getMetricsMap(), scheme, keyId);
    }

    /**
     * The advisory metrics of an update header, validated ({@link ReportedMetrics}); empty when the header carries
     * none.
     *
     * @throws IllegalArgumentException when they are out of bounds (the caller ignores them, not the update)
     */
    public static java.util.Optional<ReportedMetrics> reportedMetrics(io.pqfl.proto.v1.UpdateHeader h) {
        if (!h.hasMetrics()) {
            return java.util.Optional.empty();
        }
        var m = h.getMetrics();
        if (m.getEvalExamples() < 0) {
            throw new IllegalArgumentException("eval_examples " + Long.toUnsignedString(m.getEvalExamples()) + " out of range");
        }
        return java.util.Optional.of(new ReportedMetrics(m.getTrainLoss(), m.getEvalLoss(), m.getEvalAccuracy(),
                m.getEvalExamples(), m.getMetricsMap()));
    }

    public static SignedModel fromWire(ModelSignature m) {
        List<ReceiptEntry> receipt = new ArrayList<>();
        for (var e : m.getReceiptList()) {
            receipt.add(new ReceiptEntry(new ClientId(e.getClientId()), digest(e.getUpdateDigest(), "receipt digest"),
                    e.getNumExamples()));
        }
        SignatureScheme scheme = scheme(m.getScheme());
        PayloadDigest parent = m.getParentModelDigest().isEmpty() ? null : digest(m.getParentModelDigest(), "parent_model_digest");
        if (m.getLedgerHead().size() != LedgerHead.BYTES) {
            throw new IllegalArgumentException("ledger_head must be " + LedgerHead.BYTES + " bytes, got "
                    + m.getLedgerHead().size());
        }
        ModelStatement statement = new ModelStatement(m.getFederationId(), m.getModelRound(),
                digest(m.getModelDigest(), "model_digest"), parent, LedgerHead.of(m.getLedgerHead().toByteArray()),
                m.getStrategyStateDigest().isEmpty() ? null : digest(m.getStrategyStateDigest(), "strategy_state_digest"),
                receipt, scheme, new KeyId(m.getKeyId()));
        return new SignedModel(statement, SignatureValue.of(scheme, m.getSignature().toByteArray()));
    }

    /**
     * An aggregator's partial aggregate from an update trailer (every field validated: ids, digests, nonce, ledger
     * head, a non-empty receipt without duplicate clients, example counts of at least one; nothing checked against a
     * round or a key). Its signature is {@link io.pqfl.proto.v1.PartialAggregate#getSignature()}.
     */
    public static PartialAggregate fromWire(io.pqfl.proto.v1.PartialAggregate p) {
        if (p.getReceiptCount() > PartialAggregate.MAX_ENTRIES) {
            throw new IllegalArgumentException("receipt of " + p.getReceiptCount() + " entries, at most "
                    + PartialAggregate.MAX_ENTRIES);
        }
        if (p.getAggregatorLedgerHead().size() != LedgerHead.BYTES) {
            throw new IllegalArgumentException("aggregator_ledger_head must be " + LedgerHead.BYTES + " bytes, got "
                    + p.getAggregatorLedgerHead().size());
        }
        List<PartialReceiptEntry> receipt = new ArrayList<>();
        for (var e : p.getReceiptList()) {
            if (e.getNumExamples() < 1) {
                throw new IllegalArgumentException("receipt entry of client " + e.getClientId() + " counts "
                        + Long.toUnsignedString(e.getNumExamples()) + " examples");
            }
            receipt.add(new PartialReceiptEntry(new ClientId(e.getClientId()), digest(e.getUpdateDigest(), "receipt update_digest"),
                    e.getNumExamples(), new KeyId(e.getKeyId()), scheme(e.getScheme()), e.getSignature().toByteArray()));
        }
        return new PartialAggregate(p.getChildFederationId(), p.getChildRound(), RoundNonce.of(p.getChildNonce().toByteArray()),
                LedgerHead.of(p.getAggregatorLedgerHead().toByteArray()), receipt);
    }

    /** The wire form of a partial aggregate with the aggregator's {@code signature} over its statement. */
    public static io.pqfl.proto.v1.PartialAggregate toWire(PartialAggregate p, byte[] signature) {
        var b = io.pqfl.proto.v1.PartialAggregate.newBuilder().setChildFederationId(p.childFederationId())
                .setChildRound(p.childRound()).setChildNonce(ByteString.copyFrom(p.childNonce().bytes()))
                .setAggregatorLedgerHead(ByteString.copyFrom(p.aggregatorLedgerHead().bytes()))
                .setSignature(ByteString.copyFrom(signature));
        for (PartialReceiptEntry e : p.receipt()) {
            b.addReceipt(io.pqfl.proto.v1.PartialReceiptEntry.newBuilder().setClientId(e.clientId().value())
                    .setUpdateDigest(bytes(e.updateDigest())).setNumExamples(e.numExamples()).setKeyId(e.keyId().hex())
                    .setScheme(e.scheme().displayName()).setSignature(ByteString.copyFrom(e.signature())));
        }
        return b.build();
    }
}
