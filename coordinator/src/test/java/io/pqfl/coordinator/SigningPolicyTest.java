package io.pqfl.coordinator;

import static io.pqfl.coordinator.Refusals.assertRefused;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.proto.v1.UpdateChunk;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.SigningPolicy;
import io.pqfl.protocol.UpdateStatement;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One signing policy on both sides (docs/PROTOCOL.md, "The unsigned baseline"): a signing coordinator refuses an
 * update that announces no key, and the unsigned baseline's coordinator refuses one that announces a key; what
 * each accepts reaches the model and the ledger.
 */
class SigningPolicyTest {
    @TempDir
    Path dir;

    private TestFederation unsignedBaseline() throws Exception {
        return TestFederation.start(dir, 2, b -> b.signingPolicy(SigningPolicy.UNSIGNED_BASELINE));
    }

    private TestFederation signed() throws Exception {
        return TestFederation.start(dir, 2, b -> { });
    }

    /** c1 and c2 say Hello and fetch round 1's task. */
    private record Round(TestClient c1, TestClient c2, TestClient.ReceivedTask t1, TestClient.ReceivedTask t2) {
        static Round open(TestFederation fed) throws Exception {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            return new Round(c1, c2, c1.task(10_000), c2.task(10_000));
        }
    }

    private static void assertModelIsTheMeanOfTiny1AndTiny3(TestFederation fed) throws Exception {
        assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
        ModelWeights global = fed.global();
        assertThat(global.tensor(0)).containsExactly(tiny(2).tensor(0));
        assertThat(global.tensor(1)).containsExactly(tiny(2).tensor(1));
    }

    @Test
    void unsignedBaseline_acceptsUpdatesThatAnnounceNoKey_andLedgersThemUnderTheirSessionsKey() throws Exception {
        try (TestFederation fed = unsignedBaseline()) {
            Round r = Round.open(fed);
            TestClient.Submission s1 = r.c1().prepareUnsigned(r.t1(), tiny(1), 10);
            assertThat(s1.header.getKeyId()).isEmpty();
            assertThat(s1.header.getScheme()).isEmpty();
            r.c1().send(s1);
            r.c2().send(r.c2().prepareUnsigned(r.t2(), tiny(3), 10));
            assertModelIsTheMeanOfTiny1AndTiny3(fed);

            assertThat(fed.coordinator.runs().run().orElseThrow().config()).startsWith("unsigned=true ");
            List<LedgerEntry> accepted = fed.coordinator.ledger().entries().stream()
                    .filter(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).toList();
            assertThat(accepted).hasSize(2);
            LedgerEntry e1 = accepted.stream().filter(e -> e.clientId().equals("c1")).findFirst().orElseThrow();
            // Attributed to the key c1 proved at Hello: the statement is the one a signed c1 would have signed.
            assertThat(e1.keyId()).isEqualTo(r.c1().key.keyId().hex());
            assertThat(e1.scheme()).isEqualTo("ML-DSA-44");
            assertThat(UpdateStatement.decode(e1.statement())).isEqualTo(s1.statement);
            assertThat(e1.signature()).isNullOrEmpty();
        }
        DataDirectory data = DataDirectory.of(dir.resolve("data"));
        try (Database db = Database.open(data.jdbcUrl())) {
            assertThat(LedgerVerifier.verify(db, null, data.checkpoints()).problem()).contains("unsigned research baseline");
            LedgerVerifier.Report onPurpose = LedgerVerifier.verify(db, null, data.checkpoints(), true);
            assertThat(onPurpose.ok()).as(onPurpose.problem()).isTrue();
            assertThat(onPurpose.acceptedUpdates()).isEqualTo(2);
        }
    }

    @Test
    void unsignedBaseline_refusesASignedUpdate_asAScheme() throws Exception {
        try (TestFederation fed = unsignedBaseline()) {
            Round r = Round.open(fed);
            assertRefused(() -> r.c1().submit(r.t1(), tiny(1), 10), RejectReason.SCHEME_NOT_ACCEPTED);
            r.c1().send(r.c1().prepareUnsigned(r.t1(), tiny(1), 10));
            r.c2().send(r.c2().prepareUnsigned(r.t2(), tiny(3), 10));
            assertModelIsTheMeanOfTiny1AndTiny3(fed);
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("SCHEME_NOT_ACCEPTED"));
        }
    }

    @Test
    void unsignedBaseline_refusesSignatureBytesUnderAHeaderWithoutScheme() throws Exception {
        try (TestFederation fed = unsignedBaseline()) {
            Round r = Round.open(fed);
            TestClient.Submission s = r.c1().prepareUnsigned(r.t1(), tiny(1), 10);
            s.signature = r.c1().prepare(r.t1(), tiny(1), 10).signature;
            assertRefused(() -> r.c1().send(s), RejectReason.MALFORMED);
        }
    }

    @Test
    void unsignedBaseline_stillHoldsAnUpdateToItsSessionsKey() throws Exception {
        try (TestFederation fed = unsignedBaseline()) {
            Round r = Round.open(fed);
            SigningKey outsider = Keys.generate(SignatureScheme.ML_DSA_44);
            TestClient.Submission s = r.c1().prepareUnsigned(r.t1(), tiny(1), 10);
            s.header.setKeyId(outsider.keyId().hex()).setScheme(outsider.scheme().displayName());
            assertRefused(() -> r.c1().send(s), RejectReason.SESSION_MISMATCH);
        }
    }

    @Test
    void signedFederation_refusesAnUpdateThatAnnouncesNoKey_atItsHeader() throws Exception {
        try (TestFederation fed = signed()) {
            Round r = Round.open(fed);
            TestClient.Submission s = r.c1().prepareUnsigned(r.t1(), tiny(1), 10);
            // The header alone: refused before any tensor byte (a check at the end would say INCOMPLETE here).
            assertRefused(() -> r.c1().sendRaw(List.of(UpdateChunk.newBuilder().setHeader(s.header).build())),
                    RejectReason.BAD_SIGNATURE);
            assertRefused(() -> r.c1().send(r.c1().prepareUnsigned(r.t1(), tiny(1), 10)), RejectReason.BAD_SIGNATURE);
            r.c1().submit(r.t1(), tiny(1), 10);
            r.c2().submit(r.t2(), tiny(3), 10);
            assertModelIsTheMeanOfTiny1AndTiny3(fed);
            assertThat(fed.coordinator.runs().run().orElseThrow().config()).doesNotContain("unsigned");
            assertThat(fed.coordinator.ledger().entries()).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_REJECTED)
                    .hasSize(2).allSatisfy(e -> {
                        assertThat(e.reason()).isEqualTo("BAD_SIGNATURE");
                        assertThat(e.keyId()).isNull(); // it announced none
                    });
        }
    }

    @Test
    void signedFederation_refusesAKeyedUpdateWithAnEmptySignature() throws Exception {
        try (TestFederation fed = signed()) {
            Round r = Round.open(fed);
            TestClient.Submission s = r.c1().prepare(r.t1(), tiny(1), 10);
            s.signature = new byte[0];
            assertRefused(() -> r.c1().send(s), RejectReason.BAD_SIGNATURE);
        }
    }
}
