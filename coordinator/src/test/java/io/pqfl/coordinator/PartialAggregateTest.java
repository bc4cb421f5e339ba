package io.pqfl.coordinator;

import static io.pqfl.coordinator.Refusals.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.PartialAggregate;
import io.pqfl.protocol.PartialAggregateStatement;
import io.pqfl.protocol.PartialReceiptEntry;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.protocol.WireMapping;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A parent coordinator over real sockets receives partial aggregates from two aggregators (c1 and c2), each with the
 * signed updates of its own two clients in its receipt: the honest ones are accepted and the model is the
 * example-weighted mean of the four clients' updates; a partial aggregate changed after signing, and receipts that do
 * not account for their aggregate, are refused with their reasons, and nothing of them reaches the model or the
 * ledger's accepted entries.
 */
class PartialAggregateTest {
    @TempDir
    Path dir;

    private final Map<String, SigningKey> children = new LinkedHashMap<>();

    /** One child client's update in an aggregator's child round, signed by the child. */
    private record ChildUpdate(String client, ModelWeights weights, long examples, PartialReceiptEntry entry) {
    }

    private record ChildRound(String federation, RoundNonce nonce) {
    }

    private ChildUpdate child(ChildRound round, String client, float base, long examples,
                              io.pqfl.crypto.PayloadDigest parentBase) {
        ModelWeights w = ProtocolFixtures.tiny(base);
        SigningKey k = children.get(client);
        UpdateStatement s = new UpdateStatement(round.federation(), 1, round.nonce(), parentBase, new ClientId(client),
                k.keyId(), k.scheme(), w.digest(), examples);
        byte[] sig = Signer.create(k).sign(s.encode()).bytes();
        return new ChildUpdate(client, w, examples, new PartialReceiptEntry(new ClientId(client), w.digest(), examples,
                k.keyId(), k.scheme(), sig));
    }

    /** The example-weighted mean of {@code updates}, as FedAvg computes it. */
    private static ModelWeights mean(List<ChildUpdate> updates) {
        long total = updates.stream().mapToLong(ChildUpdate::examples).sum();
        float[][] out = {new float[6], new float[3]};
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < out[t].length; i++) {
                double sum = 0;
                for (ChildUpdate u : updates) {
                    sum += (double) u.weights().tensor(t)[i] * u.examples();
                }
                out[t][i] = (float) (sum / total);
            }
        }
        return ModelWeights.of(ProtocolFixtures.TINY, out);
    }

    /** The aggregator's honest submission of {@code aggregate} with {@code partial}, signed by it; a test may alter it. */
    private static TestClient.Submission submission(TestClient aggregator, TestClient.ReceivedTask task,
                                                    ModelWeights aggregate, long examples, PartialAggregate partial) {
        TestClient.Submission s = aggregator.prepare(task, aggregate, examples);
        PartialAggregateStatement statement = partial.statement(s.statement);
        s.partial = WireMapping.toWire(partial, statement.sign(aggregator.key));
        return s;
    }

    private static PartialAggregate partial(ChildRound round, List<PartialReceiptEntry> receipt) {
        return new PartialAggregate(round.federation(), 1, round.nonce(), LedgerHead.ofHex("a1".repeat(64)), receipt);
    }

    @Test
    void honestPartialAggregates_makeTheFlatMean_andReceiptsThatDoNotAccountForTheirAggregateAreRefused() throws Exception {
        SecureRandom random = new SecureRandom();
        Path childTrust = dir.resolve("children");
        TrustStore trust = TrustStore.open(childTrust);
        for (String c : List.of("a1", "a2", "b1", "b2", "a3")) {
            SigningKey k = Keys.generate(SignatureScheme.ML_DSA_44);
            children.put(c, k);
            trust.add(new ClientId(c), k.verifyingKey());
        }
        children.put("stranger", Keys.generate(SignatureScheme.ML_DSA_44)); // no key at the parent
        try (TestFederation f = TestFederation.start(dir, 2, b -> b.receiptTrustDir(childTrust).closeOnRejection(false)
                .roundTimeout(Duration.ofSeconds(60)))) {
            TestClient aggA = f.client("c1");
            aggA.hello();
            f.client("c2").hello(); // both aggregators are live: round 1 samples both
            TestClient.ReceivedTask taskA = aggA.task(5_000);
            ChildRound roundA = new ChildRound("agg-a", RoundNonce.random(random));
            ChildRound roundB = new ChildRound("agg-b", RoundNonce.random(random));
            var base = taskA.digest();
            ChildUpdate a1 = child(roundA, "a1", 1, 100, base);
            ChildUpdate a2 = child(roundA, "a2", 3, 300, base);
            ChildUpdate b1 = child(roundB, "b1", -2, 50, base);
            ChildUpdate b2 = child(roundB, "b2", 5, 150, base);
            ModelWeights aggregateA = mean(List.of(a1, a2));
            PartialAggregate honestA = partial(roundA, List.of(a1.entry(), a2.entry()));

            // The aggregate's bytes changed after the aggregator signed: its signatures no longer verify.
            TestClient.Submission tampered = submission(aggA, taskA, aggregateA, 400, honestA);
            tampered.chunks.get(0)[0] ^= 1;
            assertRefused(() -> aggA.send(tampered), RejectReason.BAD_SIGNATURE);
            // The receipt changed in transit after signing (another ledger head): the partial's signature fails.
            TestClient.Submission otherHead = submission(aggA, taskA, aggregateA, 400, honestA);
            otherHead.partial = otherHead.partial.toBuilder()
                    .setAggregatorLedgerHead(ByteString.copyFrom(HexFormat.of().parseHex("b2".repeat(64)))).build();
            assertRefused(() -> aggA.send(otherHead), RejectReason.BAD_SIGNATURE);
            // The aggregator signs a receipt whose counts do not add up to the examples it claims.
            assertRefused(() -> aggA.send(submission(aggA, taskA, aggregateA, 500, honestA)), RejectReason.BAD_RECEIPT);
            // An entry whose example count is not the one its client signed (the sum made to fit).
            PartialReceiptEntry inflated = new PartialReceiptEntry(a1.entry().clientId(), a1.entry().updateDigest(), 200,
                    a1.entry().keyId(), a1.entry().scheme(), a1.entry().signature());
            assertRefused(() -> aggA.send(submission(aggA, taskA, aggregateA, 500,
                    partial(roundA, List.of(inflated, a2.entry())))), RejectReason.BAD_RECEIPT);
            // An entry for a client that never sent this update: a known client, a signature it never made.
            PartialReceiptEntry forged = new PartialReceiptEntry(new ClientId("a3"), ProtocolFixtures.tiny(9).digest(), 100,
                    children.get("a3").keyId(), SignatureScheme.ML_DSA_44,
                    Signer.create(children.get("a2")).sign(new byte[] {1}).bytes());
            assertRefused(() -> aggA.send(submission(aggA, taskA, aggregateA, 500,
                    partial(roundA, List.of(a1.entry(), a2.entry(), forged)))), RejectReason.BAD_RECEIPT);
            // An entry for a client the parent knows no key of.
            ChildUpdate stranger = child(roundA, "stranger", 2, 100, base);
            assertRefused(() -> aggA.send(submission(aggA, taskA, aggregateA, 500,
                    partial(roundA, List.of(a1.entry(), a2.entry(), stranger.entry())))), RejectReason.BAD_RECEIPT);
            // A child round claimed to be of the parent's own federation.
            assertRefused(() -> aggA.send(submission(aggA, taskA, aggregateA, 400, new PartialAggregate(
                    ProtocolFixtures.FEDERATION, 1, roundA.nonce(), LedgerHead.EMPTY, List.of(a1.entry(), a2.entry())))),
                    RejectReason.BAD_RECEIPT);
            assertThat(f.coordinator.ledger().entries()).noneMatch(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED
                    || e.kind() == LedgerEntry.Kind.PARTIAL_AGGREGATE);

            // The honest partial aggregate of c1 is accepted.
            assertThat(aggA.send(submission(aggA, taskA, aggregateA, 400, honestA)).getAccepted()).isTrue();
            // A restart mid-round resumes it with c1's partial aggregate, and what its receipt counted.
            f.restart();
            TestClient aggB2 = f.client("c2");
            aggB2.hello();
            TestClient.ReceivedTask taskB2 = aggB2.task(5_000);
            // c2 names a1 too (a1 signed for c2's round as well): a1's update already counts in this round.
            ChildUpdate a1AtB = child(roundB, "a1", 1, 100, base);
            assertRefused(() -> aggB2.send(submission(aggB2, taskB2, mean(List.of(b1, b2, a1AtB)), 300,
                    partial(roundB, List.of(b1.entry(), b2.entry(), a1AtB.entry())))), RejectReason.BAD_RECEIPT);
            assertThat(aggB2.send(submission(aggB2, taskB2, mean(List.of(b1, b2)), 200,
                    partial(roundB, List.of(b1.entry(), b2.entry())))).getAccepted()).isTrue();

            Await.until(Duration.ofSeconds(30), "round 1's model", () -> !f.global().digest().equals(taskA.digest()));
            ModelWeights flat = mean(List.of(a1, a2, b1, b2));
            ModelWeights global = f.global();
            for (int t = 0; t < 2; t++) {
                for (int i = 0; i < flat.tensor(t).length; i++) {
                    assertThat(global.tensor(t)[i]).isCloseTo(flat.tensor(t)[i], within(1e-5f));
                }
            }
            List<LedgerEntry> entries = f.coordinator.ledger().entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(2);
            List<String> partials = new ArrayList<>();
            for (LedgerEntry e : entries) {
                if (e.kind() == LedgerEntry.Kind.PARTIAL_AGGREGATE) {
                    PartialAggregateStatement s = PartialAggregateStatement.decode(e.statement());
                    partials.add(e.clientId() + ":" + s.partial().receipt().size() + ":" + s.update().numExamples());
                    assertThat(e.detail()).contains("aggregator ledger head " + "a1".repeat(64));
                }
            }
            assertThat(partials).containsExactly("c1:2:400", "c2:2:200");
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .extracting(LedgerEntry::reason).containsExactly("BAD_SIGNATURE", "BAD_SIGNATURE", "BAD_RECEIPT",
                            "BAD_RECEIPT", "BAD_RECEIPT", "BAD_RECEIPT", "BAD_RECEIPT", "BAD_RECEIPT");
            LedgerVerifier.Report report = LedgerVerifier.verify(io.pqfl.coordinator.store.Database.open(f.config.effectiveJdbcUrl()));
            assertThat(report.problem()).isNull();
            assertThat(report.notes()).anyMatch(n -> n.startsWith("2 partial aggregates"));
        }
    }
}
