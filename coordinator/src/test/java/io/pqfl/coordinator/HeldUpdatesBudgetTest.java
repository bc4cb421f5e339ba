package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.plus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.round.RoundPlan;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ProtocolFixtures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A median (trimmed mean, Krum) keeps every accepted update of a round until the round closes, so the upload memory
 * budget counts them: a round samples no more clients than the budget can take updates of (the others would only be
 * told BUSY until the deadline), the operator is told so at start, and the round closes as soon as those sampled have
 * delivered. A budget that could not take the updates a round needs is refused at start. A strategy that folds each
 * update in (FedAvg) holds nothing and samples everyone. (The BUSY refusal itself, for a round sampled before a restart
 * with a larger heap, is {@code UploadBudgetTest}'s.)
 */
class HeldUpdatesBudgetTest {
    /** The tiny fixture model: 9 floats. */
    static final long MODEL = ProtocolFixtures.tiny(0).manifest().totalBytes();
    /** What one upload reserves: the model and half again. */
    static final long UPLOAD = MODEL + MODEL / 2;

    @TempDir
    Path dir;

    private static List<ClientId> roster(int n) {
        return IntStream.rangeClosed(1, n).mapToObj(i -> new ClientId("c" + i)).toList();
    }


    /** All five say Hello; the sampled ones send their update in turn. Returns the ids of those sampled. */
    private static List<String> sampledDeliver(TestFederation fed) throws Exception {
        List<TestClient> clients = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            TestClient c = fed.client("c" + i);
            c.hello();
            clients.add(c);
        }
        RoundPlan plan = fed.engine.openRoundPlan().orElseThrow();
        List<String> sampled = plan.sampled().stream().map(ClientId::value).sorted().toList();
        for (TestClient c : clients) {
            if (sampled.contains(c.id.value())) {
                TestClient.ReceivedTask t = c.task(15_000);
                assertThat(c.submit(t, plus(t.model(), 1 + sampled.indexOf(c.id.value())), 10).getAccepted()).isTrue();
            }
        }
        return sampled;
    }

    @Test
    void aMedianRound_samplesNoMoreClientsThanTheBudgetTakesUpdatesOf_andClosesWhenTheyDelivered() throws Exception {
        // One byte short of four held updates beside one upload: the fourth upload starts beside three held updates,
        // a fifth could not start beside four. The round's deadline is far: only its delivered clients can close it.
        long budget = 4 * MODEL + UPLOAD - 1;
        ch.qos.logback.classic.Logger engineLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                "io.pqfl.coordinator.round.FederationEngine");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        engineLog.addAppender(logs);
        try (TestFederation fed = TestFederation.start(dir, 5, b -> b.strategy("fedmedian").minClients(3).rounds(1)
                .sampleFrom(roster(5)).clientsPerRound(5).uploadLimits(1024, budget).roundTimeout(Duration.ofMinutes(5)))) {
            assertThat(logs.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .anySatisfy(m -> assertThat(m).contains("fedmedian keeps every update of a round until it closes: "
                            + "a round samples at most 4 clients"));
            List<String> sampled = sampledDeliver(fed);
            assertThat(sampled).hasSize(4);

            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(30))).isTrue();
            List<LedgerEntry> entries = fed.coordinator.ledger().entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).extracting(LedgerEntry::clientId)
                    .containsExactlyInAnyOrderElementsOf(sampled);
            LedgerEntry published = entries.stream().filter(e -> e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED && e.round() == 1)
                    .findFirst().orElseThrow();
            assertThat(ModelStatement.decode(published.statement()).receipt()).hasSize(4);
            // The median of +1..+4 is +2.5 on every coordinate.
            assertThat(fed.global().tensor(1)).containsExactly(plus(ProtocolFixtures.tiny(0), 2.5f).tensor(1));
        } finally {
            engineLog.detachAppender(logs);
        }
    }

    @Test
    void aFoldingStrategy_holdsNothing_andTheSameBudgetSamplesEveryone() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 5, b -> b.strategy("fedavg").minClients(3).rounds(1)
                .sampleFrom(roster(5)).clientsPerRound(5).uploadLimits(1024, 4 * MODEL + UPLOAD - 1)
                .roundTimeout(Duration.ofMinutes(5)))) {
            assertThat(sampledDeliver(fed)).hasSize(5);
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(30))).isTrue();
        }
    }

    @Test
    void aBudgetThatCannotTakeTheUpdatesARoundNeeds_isRefusedAtStart() {
        // Three updates: the third uploads beside two held ones, 2 x 36 + 54 bytes.
        assertThatThrownBy(() -> TestFederation.start(dir, 3, b -> b.strategy("fedmedian").minClients(3)
                .uploadLimits(1024, 2 * MODEL + UPLOAD - 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("fedmedian keeps every update of a round until it closes")
                .hasMessageContaining("no round could aggregate");
        Path other = dir.resolve("fits");
        assertThatCode(() -> java.nio.file.Files.createDirectories(other)).doesNotThrowAnyException();
        assertThatCode(() -> TestFederation.start(other, 3, b -> b.strategy("fedmedian").minClients(3)
                .uploadLimits(1024, 2 * MODEL + UPLOAD)).close()).doesNotThrowAnyException();
    }

    private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertThatCode(
            org.assertj.core.api.ThrowableAssert.ThrowingCallable c) {
        return org.assertj.core.api.Assertions.assertThatCode(c);
    }
}
