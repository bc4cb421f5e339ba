package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.crypto.ClientId;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.RejectReason;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A median (trimmed mean, Krum) keeps every accepted update of a round until the round closes, so the upload memory
 * budget counts them: once the held updates leave no room for another upload, the next one is refused BUSY, naming
 * them, rather than growing the heap with every sampled client; the round closes at its deadline with what it holds.
 * A budget that could not hold the updates a round needs is refused at start. A strategy that folds each update in
 * (FedAvg) holds nothing, and the same budget lets every upload through one at a time.
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

    private static ModelWeights plus(ModelWeights m, float delta) {
        ModelWeights c = m.copy();
        for (int t = 0; t < c.tensorCount(); t++) {
            float[] v = c.tensor(t);
            for (int i = 0; i < v.length; i++) {
                v[i] += delta;
            }
        }
        return c;
    }

    /** Each of the five sampled clients sends its update in turn; returns the refusal of each (null: accepted). */
    private static List<StatusRuntimeException> fiveUploads(TestFederation fed) throws Exception {
        List<TestClient.ReceivedTask> tasks = new ArrayList<>();
        List<TestClient> clients = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            TestClient c = fed.client("c" + i);
            c.hello();
            clients.add(c);
            tasks.add(c.task(15_000));
        }
        List<StatusRuntimeException> refusals = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            try {
                clients.get(i).submit(tasks.get(i), plus(tasks.get(i).model(), i + 1), 10);
                refusals.add(null);
            } catch (StatusRuntimeException e) {
                refusals.add(e);
            }
        }
        return refusals;
    }

    @Test
    void aMedianRound_refusesTheUploadItsHeldUpdatesLeaveNoRoomFor_andClosesWithThoseItHolds() throws Exception {
        // One byte short of four held updates beside one upload: the fourth upload starts beside three held updates,
        // the fifth would start beside four.
        long budget = 4 * MODEL + UPLOAD - 1;
        ch.qos.logback.classic.Logger driverLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                "io.pqfl.coordinator.round.TrainingDriver");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        driverLog.addAppender(logs);
        try (TestFederation fed = TestFederation.start(dir, 5, b -> b.strategy("fedmedian").minClients(3).rounds(1)
                .sampleFrom(roster(5)).clientsPerRound(5).uploadLimits(1024, budget).roundTimeout(Duration.ofSeconds(4)))) {
            List<StatusRuntimeException> refusals = fiveUploads(fed);
            assertThat(refusals.subList(0, 4)).containsOnlyNulls();
            StatusRuntimeException busy = refusals.get(4);
            assertThat(busy).isNotNull();
            assertThat(Statuses.reasonOf(busy)).isEqualTo(RejectReason.BUSY);
            assertThat(busy.getStatus().getDescription()).contains("round 1 holds its 4 accepted updates");
            // The operator was told when the round opened.
            assertThat(logs.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .anySatisfy(m -> assertThat(m).contains("Round 1 samples 5 clients, but fedmedian keeps every update")
                            .contains("takes 4 of them"));

            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
            List<LedgerEntry> entries = fed.coordinator.ledger().entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).extracting(LedgerEntry::clientId)
                    .containsExactlyInAnyOrder("c1", "c2", "c3", "c4");
            LedgerEntry published = entries.stream().filter(e -> e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED && e.round() == 1)
                    .findFirst().orElseThrow();
            assertThat(ModelStatement.decode(published.statement()).receipt()).hasSize(4);
            // The median of +1..+4 is +2.5 on every coordinate.
            assertThat(fed.global().tensor(1)).containsExactly(plus(ProtocolFixtures.tiny(0), 2.5f).tensor(1));
        } finally {
            driverLog.detachAppender(logs);
        }
    }

    @Test
    void aFoldingStrategy_holdsNothing_andTheSameBudgetTakesEveryUpload() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 5, b -> b.strategy("fedavg").minClients(3).rounds(1)
                .sampleFrom(roster(5)).clientsPerRound(5).uploadLimits(1024, 4 * MODEL + UPLOAD - 1))) {
            assertThat(fiveUploads(fed)).containsOnlyNulls();
            assertThat(fed.engine.awaitFinished(Duration.ofSeconds(20))).isTrue();
        }
    }

    @Test
    void aBudgetThatCannotHoldTheUpdatesARoundNeeds_isRefusedAtStart() {
        assertThatThrownBy(() -> TestFederation.start(dir, 3, b -> b.strategy("fedmedian").minClients(3)
                .uploadLimits(1024, 3 * MODEL + UPLOAD - 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("fedmedian keeps every update of a round until it closes")
                .hasMessageContaining("no round could close");
        // Exactly enough for the three updates a round needs and one upload: it starts.
        Path other = dir.resolve("fits");
        assertThatCode(() -> java.nio.file.Files.createDirectories(other)).doesNotThrowAnyException();
        assertThatCode(() -> TestFederation.start(other, 3, b -> b.strategy("fedmedian").minClients(3)
                .uploadLimits(1024, 3 * MODEL + UPLOAD)).close()).doesNotThrowAnyException();
    }

    private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertThatCode(
            org.assertj.core.api.ThrowableAssert.ThrowingCallable c) {
        return org.assertj.core.api.Assertions.assertThatCode(c);
    }
}
