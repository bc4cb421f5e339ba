package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.privacy.PrivacySpent;
import io.pqfl.coordinator.privacy.RdpAccountant;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerForgery;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.testing.TestKeys;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.SignedModel;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Central DP in the ledger: each noised round's spending (PRIVACY_SPENT) is ledgered right before its model, whose
 * signature covers it; the ledger verifier recomputes it with the accountant, shows it, and refuses one that was
 * altered, or that under-states epsilon even when the coordinator itself signed it.
 */
class PrivacyLedgerTest {
    @TempDir
    static Path run;
    @TempDir
    Path dir;

    private static RecordedRun recorded;

    @BeforeAll
    static void runAFederationWithDp() throws Exception {
        recorded = RecordedRun.twoRoundsWithDp(run);
    }

    private static List<PrivacySpent> spending(List<LedgerEntry> entries) {
        return entries.stream().filter(e -> e.kind() == LedgerEntry.Kind.PRIVACY_SPENT)
                .map(e -> PrivacySpent.parse(e.round(), e.detail())).toList();
    }

    @Test
    void eachNoisedRound_ledgersItsSpendingRightBeforeItsModel_whoseSignatureCoversIt() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(2).differentialPrivacy(RecordedRun.DP))) {
            RecordedRun.trainTwoRounds(fed);
            List<LedgerEntry> entries = fed.coordinator.ledger().entries();
            List<PrivacySpent> spent = spending(entries);
            assertThat(spent).extracting(PrivacySpent::round).containsExactly(1L, 2L);
            // exactly what the coordinator computed: every number reads back to the last bit
            assertThat(spent.get(1)).isEqualTo(fed.engine.differentialPrivacy().orElseThrow().lastSpent());
            RdpAccountant ref = new RdpAccountant();
            ref.compose(1.0, 1.0, 2); // both clients in both rounds: rate 1, accounted at z = 1
            assertThat(spent.get(1).totalEpsilon()).isEqualTo(ref.epsilon(1e-5));
            assertThat(spent.get(1).rate()).isEqualTo(1.0);
            assertThat(spent.get(1).noiseMultiplier()).isEqualTo(1.0);
            // both updates (norms sqrt(d) and 3 sqrt(d)) exceed 0.5: clipped, and the clip adapts from round to round
            assertThat(spent.get(0).clip()).isEqualTo(0.5);
            assertThat(spent.get(0).clipped()).isEqualTo(2);
            assertThat(spent.get(1).clip()).isEqualTo(spent.get(0).nextClip()).isNotEqualTo(0.5);
            assertThat(fed.metrics.gaugeValue("pqfl.dp.clip")).isEqualTo(spent.get(1).nextClip());
            assertThat(fed.metrics.gaugeValue("pqfl.dp.epsilon")).isEqualTo(spent.get(1).totalEpsilon());
            for (int i = 0; i < entries.size(); i++) {
                LedgerEntry e = entries.get(i);
                if (e.kind() == LedgerEntry.Kind.PRIVACY_SPENT) {
                    LedgerEntry model = entries.get(i + 1);
                    assertThat(model.kind()).isEqualTo(LedgerEntry.Kind.MODEL_PUBLISHED);
                    assertThat(model.round()).isEqualTo(e.round());
                    assertThat(ModelStatement.decode(model.statement()).ledgerHead().matches(e.entryHash()))
                            .as("round " + e.round() + "'s model is signed over its spending").isTrue();
                }
            }
            LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()),
                    fed.coordinatorKey.verifyingKey(), fed.config.dataDirectory().checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
            assertThat(report.notes()).anySatisfy(n -> assertThat(n)
                    .startsWith("central differential privacy: 2 rounds' spending ledgered")
                    .contains(String.format(Locale.ROOT, "after round 2: epsilon %.4f at delta 1.0E-5",
                            spent.get(1).totalEpsilon()))
                    .contains(String.format(Locale.ROOT, "next clip norm %.6g", spent.get(1).nextClip())));
        }
    }

    @Test
    void aRestartedCoordinator_continuesTheAccountantAndTheClipNormFromTheLedger() throws Exception {
        TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(2).differentialPrivacy(RecordedRun.DP));
        try {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            c1.submit(c1.task(15_000), tiny(1), 5);
            c2.submit(c2.task(15_000), tiny(3), 5);
            Await.until(Duration.ofSeconds(20), "round 1 to close", () -> fed.engine.status().closedRounds() >= 1);
            PrivacySpent first = spending(fed.coordinator.ledger().entries()).get(0);
            assertThat(first.nextClip()).isNotEqualTo(0.5);

            fed.restart(); // round 2 is open, or opens once the clients are back
            io.pqfl.coordinator.aggregate.CentralDp dp = fed.engine.differentialPrivacy().orElseThrow();
            assertThat(dp.clipNorm()).as("round 1 moved the clip; the restarted coordinator goes on from there")
                    .isEqualTo(first.nextClip());
            assertThat(dp.totalEpsilon()).isEqualTo(first.totalEpsilon());
            c1 = fed.client("c1");
            c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            c1.submit(c1.task(15_000), tiny(1), 5);
            c2.submit(c2.task(15_000), tiny(3), 5);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            PrivacySpent second = spending(fed.coordinator.ledger().entries()).get(1);
            assertThat(second.round()).isEqualTo(2);
            assertThat(second.clip()).isEqualTo(first.nextClip());
            // round 2 was open before the restart: its rate is unknown and counts as 1 (as it is here anyway)
            RdpAccountant ref = new RdpAccountant();
            ref.compose(1.0, 1.0, 2);
            assertThat(second.totalEpsilon()).isCloseTo(ref.epsilon(1e-5), org.assertj.core.api.Assertions.within(1e-12));
            LedgerVerifier.Report report = LedgerVerifier.verify(Database.open(fed.config.effectiveJdbcUrl()),
                    fed.coordinatorKey.verifyingKey(), fed.config.dataDirectory().checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
        } finally {
            fed.close();
        }
    }

    /** Replaces entry {@code seq}'s detail, as an attacker with the database file would. */
    private static void setDetail(Connection c, long seq, String detail) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE ledger SET detail = ? WHERE seq = ?")) {
            ps.setString(1, detail);
            ps.setLong(2, seq);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }

    private static LedgerVerifier.Report verifyDatabase(Path data, VerifyingKey pinned) throws SQLException {
        try (Database db = Database.open(DataDirectory.of(data).jdbcUrl())) {
            return LedgerVerifier.verify(db, pinned, null);
        }
    }

    /** Round 2's spending (entry 8) with its total lowered to its round's own epsilon. */
    private static String underStated(Path data) throws SQLException {
        try (Database db = Database.open(DataDirectory.of(data).jdbcUrl())) {
            PrivacySpent s = spending(new io.pqfl.coordinator.store.Ledger(db, java.time.Clock.systemUTC()).entries()).get(1);
            return new PrivacySpent(s.round(), s.rate(), s.updates(), s.clipped(), s.clip(), s.nextClip(),
                    s.noiseMultiplier(), s.roundEpsilon(), s.roundEpsilon(), s.delta()).describe();
        }
    }

    @Test
    void aSpendingRewrittenAndRechained_breaksTheSignatureOfItsRoundsModel() throws Exception {
        Path data = recorded.copyTo(dir);
        String altered;
        try (Database db = Database.open(DataDirectory.of(data).jdbcUrl())) {
            PrivacySpent s = spending(new io.pqfl.coordinator.store.Ledger(db, java.time.Clock.systemUTC()).entries()).get(1);
            // consistent with the accountant, so only the signature can tell: the next round's clip norm doubled
            altered = new PrivacySpent(s.round(), s.rate(), s.updates(), s.clipped(), s.clip(), 2 * s.nextClip(),
                    s.noiseMultiplier(), s.roundEpsilon(), s.totalEpsilon(), s.delta()).describe();
        }
        try (Connection c = RecordedRun.attack(data)) {
            setDetail(c, 8, altered);
            LedgerForgery.rechain(c);
        }
        LedgerVerifier.Report report = verifyDatabase(data, recorded.coordinatorKey());
        assertThat(report.ok()).isFalse();
        assertThat(report.firstBadSeq()).isEqualTo(9L);
        assertThat(report.problem()).contains("signed over ledger head");
    }

    @Test
    void aSpendingThatUnderStatesEpsilon_isRefusedEvenWhenTheCoordinatorSignedIt() throws Exception {
        Path data = recorded.copyTo(dir);
        String lowered = underStated(data);
        // a coordinator that reports less than its own ledgered rounds compose to, and signs over it
        SigningKey coordinator = TestKeys.key(SignatureScheme.ML_DSA_65);
        assertThat(coordinator.keyId()).isEqualTo(recorded.coordinatorKey().keyId());
        try (Connection c = RecordedRun.attack(data)) {
            setDetail(c, 8, lowered);
            LedgerForgery.rechain(c, (ModelStatement s, LedgerHead head) -> {
                ModelStatement again = new ModelStatement(s.federationId(), s.modelRound(), s.modelDigest(),
                        s.parentModelDigest(), head, s.strategyStateDigest(), s.receipt(), s.scheme(), s.coordinatorKeyId());
                return new SignedModel(again, Signer.create(coordinator).sign(again.encode()));
            });
        }
        LedgerVerifier.Report report = verifyDatabase(data, recorded.coordinatorKey());
        assertThat(report.ok()).isFalse();
        assertThat(report.firstBadSeq()).isEqualTo(8L);
        assertThat(report.problem()).contains("round 2's DP spending says epsilon")
                .contains("less than the 2 ledgered rounds so far compose to").contains("under-states");
    }

    @Test
    void theRecordedRun_verifies_andTheVerifierShowsTheSpending() throws Exception {
        LedgerVerifier.Report report = verifyDatabase(recorded.copyTo(dir), recorded.coordinatorKey());
        assertThat(report.ok()).as(report.problem()).isTrue();
        assertThat(report.entries()).isEqualTo(9);
        assertThat(report.notes()).anyMatch(n -> n.startsWith("central differential privacy: 2 rounds' spending ledgered"));
    }
}
