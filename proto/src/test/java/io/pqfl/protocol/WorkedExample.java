package io.pqfl.protocol;

import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The worked example of docs/PROTOCOL.md: a two-tensor update from client "alice" in round 1, signed with
 * the committed ML-DSA-44 test key (test resources, worked-example/client.key). ML-DSA signing is
 * deterministic, so the signature is reproducible. {@code main} prints the values for the document.
 */
final class WorkedExample {
    static final Path DIR = Path.of("src/test/resources/worked-example");

    static Map<String, String> compute(SigningKey key) {
        ModelManifest manifest = new ModelManifest("example", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));
        ModelWeights base = ModelWeights.of(manifest, new float[][] {{0f, 0f, 0f, 0f}, {0f, 0f}});
        ModelWeights update = ModelWeights.of(manifest, new float[][] {{0.5f, -1.25f, 2f, 0.125f}, {1f, -0.5f}});
        byte[] nonce = new byte[RoundNonce.BYTES];
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) i;
        }
        UpdateStatement st = new UpdateStatement("demo-federation", 1, RoundNonce.of(nonce), base.digest(),
                new ClientId("alice"), key.keyId(), key.scheme(), update.digest(), 600);
        HexFormat hex = HexFormat.of();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("manifest", hex.formatHex(manifest.encode()));
        out.put("updateBytes", hex.formatHex(update.toBytes()));
        out.put("updateDigest", update.digest().hex());
        out.put("baseModelDigest", base.digest().hex());
        out.put("keyId", key.keyId().hex());
        out.put("statement", hex.formatHex(st.encode()));
        out.put("signature", hex.formatHex(Signer.create(key).sign(st.encode()).bytes()));
        out.put("publicKeyRaw", hex.formatHex(key.verifyingKey().raw()));
        return out;
    }

    /** The session statement alice signs at Hello, to the example coordinator, over the challenge a0 a1 ... bf. */
    static Map<String, String> session(SigningKey alice, SigningKey coordinator) {
        byte[] challenge = new byte[SessionStatement.CHALLENGE_BYTES];
        for (int i = 0; i < challenge.length; i++) {
            challenge[i] = (byte) (0xa0 + i);
        }
        SessionStatement st = new SessionStatement("demo-federation", coordinator.keyId(), new ClientId("alice"), alice.keyId(),
                alice.scheme(), challenge);
        HexFormat hex = HexFormat.of();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("session.statement", hex.formatHex(st.encode()));
        out.put("session.signature", hex.formatHex(Signer.create(alice).sign(st.encode()).bytes()));
        return out;
    }

    /**
     * The task statement the coordinator signs for alice in round 1: the all-zero example model of round 0, one
     * epoch, batch 32, learning rate 0.001, Adam, deadline 2026-01-01T00:00:00Z.
     */
    static Map<String, String> task(SigningKey coordinator) {
        ModelManifest manifest = new ModelManifest("example", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));
        ModelWeights base = ModelWeights.of(manifest, new float[][] {{0f, 0f, 0f, 0f}, {0f, 0f}});
        byte[] nonce = new byte[RoundNonce.BYTES];
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) i;
        }
        TaskStatement st = new TaskStatement("demo-federation", 1, RoundNonce.of(nonce), new ClientId("alice"), 0,
                base.digest(), new TrainingConfig(1, 32, 0.001f, 0f, "adam"), 1_767_225_600_000L, coordinator.scheme(),
                coordinator.keyId());
        HexFormat hex = HexFormat.of();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("coordinator.keyId", coordinator.keyId().hex());
        out.put("coordinator.publicKeyRaw", hex.formatHex(coordinator.verifyingKey().raw()));
        out.put("task.statement", hex.formatHex(st.encode()));
        out.put("task.signature", hex.formatHex(Signer.create(coordinator).sign(st.encode()).bytes()));
        return out;
    }

    /**
     * alice's evaluation of round 1's global model (for the example, the weights of the update above): loss 0.25 over
     * 200 held-out examples, accuracy 0.875 and mae 0.5, nonce 00 01 ... 1f, signed with her ML-DSA-44 key.
     */
    static Map<String, String> evaluation(SigningKey alice) {
        ModelManifest manifest = new ModelManifest("example", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));
        ModelWeights model = ModelWeights.of(manifest, new float[][] {{0.5f, -1.25f, 2f, 0.125f}, {1f, -0.5f}});
        byte[] nonce = new byte[RoundNonce.BYTES];
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) i;
        }
        EvaluationStatement st = new EvaluationStatement("demo-federation", 1, RoundNonce.of(nonce), new ClientId("alice"),
                model.digest(), 0.25, 200, Map.of("mae", 0.5, "accuracy", 0.875), alice.scheme(), alice.keyId());
        HexFormat hex = HexFormat.of();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("evaluation.statement", hex.formatHex(st.encode()));
        out.put("evaluation.signature", hex.formatHex(st.sign(Signer.create(alice)).bytes()));
        return out;
    }

    /** The EVALUATE task the coordinator signs for alice's evaluation of round 1's model (deadline as above). */
    static Map<String, String> evaluateTask(SigningKey coordinator) {
        ModelManifest manifest = new ModelManifest("example", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));
        ModelWeights model = ModelWeights.of(manifest, new float[][] {{0.5f, -1.25f, 2f, 0.125f}, {1f, -0.5f}});
        byte[] nonce = new byte[RoundNonce.BYTES];
        for (int i = 0; i < nonce.length; i++) {
            nonce[i] = (byte) i;
        }
        TaskStatement st = new TaskStatement("demo-federation", TaskKind.EVALUATE, 1, RoundNonce.of(nonce),
                new ClientId("alice"), 1, model.digest(), new TrainingConfig(1, 32, 0.001f, 0f, "adam"), 1_767_225_600_000L,
                coordinator.scheme(), coordinator.keyId());
        Map<String, String> out = new LinkedHashMap<>();
        out.put("evaluateTask.statement", HexFormat.of().formatHex(st.encode()));
        return out;
    }

    /**
     * The partial-aggregate statement of the tier example: the example coordinator, as aggregator "edge-hub" of the
     * parent federation "demo-root", folded alice's update of the update example (round 1 of its own federation
     * "demo-federation", on the all-zero model that the parent sent) into its partial aggregate for round 1 of the
     * parent (nonce 20 21 ... 3f); the aggregate is alice's update itself (600 examples); its ledger head is 64 bytes 5a.
     */
    static Map<String, String> partial(SigningKey alice, SigningKey aggregator) {
        ModelManifest manifest = new ModelManifest("example", List.of(TensorSpec.of("w", 2, 2), TensorSpec.of("b", 2)));
        ModelWeights base = ModelWeights.of(manifest, new float[][] {{0f, 0f, 0f, 0f}, {0f, 0f}});
        ModelWeights update = ModelWeights.of(manifest, new float[][] {{0.5f, -1.25f, 2f, 0.125f}, {1f, -0.5f}});
        byte[] childNonce = new byte[RoundNonce.BYTES];
        byte[] nonce = new byte[RoundNonce.BYTES];
        for (int i = 0; i < nonce.length; i++) {
            childNonce[i] = (byte) i;
            nonce[i] = (byte) (0x20 + i);
        }
        UpdateStatement alices = new UpdateStatement("demo-federation", 1, RoundNonce.of(childNonce), base.digest(),
                new ClientId("alice"), alice.keyId(), alice.scheme(), update.digest(), 600);
        byte[] aliceSignature = Signer.create(alice).sign(alices.encode()).bytes();
        UpdateStatement hub = new UpdateStatement("demo-root", 1, RoundNonce.of(nonce), base.digest(),
                new ClientId("edge-hub"), aggregator.keyId(), aggregator.scheme(), update.digest(), 600);
        PartialAggregate partial = new PartialAggregate("demo-federation", 1, RoundNonce.of(childNonce),
                LedgerHead.ofHex("5a".repeat(LedgerHead.BYTES)), List.of(new PartialReceiptEntry(new ClientId("alice"),
                        update.digest(), 600, alice.keyId(), alice.scheme(), aliceSignature)));
        PartialAggregateStatement st = partial.statement(hub);
        HexFormat hex = HexFormat.of();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("partial.statement", hex.formatHex(st.encode()));
        out.put("partial.signature", hex.formatHex(st.sign(aggregator)));
        return out;
    }

    static SigningKey coordinatorKey() throws Exception {
        return KeyPem.readSigningKey(DIR.resolve("coordinator.key"), null);
    }

    /** Every documented value, by name. */
    static Map<String, String> all() throws Exception {
        Map<String, String> out = new LinkedHashMap<>(compute(key()));
        out.putAll(session(key(), coordinatorKey()));
        out.putAll(task(coordinatorKey()));
        out.putAll(evaluation(key()));
        out.putAll(evaluateTask(coordinatorKey()));
        out.putAll(partial(key(), coordinatorKey()));
        return out;
    }

    static SigningKey key() throws Exception {
        return KeyPem.readSigningKey(DIR.resolve("client.key"), null);
    }

    public static void main(String[] args) throws Exception {
        all().forEach((k, v) -> System.out.println(k + "=" + v));
    }

    private WorkedExample() {
    }

}
